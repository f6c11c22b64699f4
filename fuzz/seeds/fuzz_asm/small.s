load_imm r7, 1
load_imm_64 r8, 0xdeadbeef
.jumptable a
a:
  add_32 r9, r7, r8
  ecalli 3
  jump_ind r0, 0
