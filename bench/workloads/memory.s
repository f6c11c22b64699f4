; memory: a load/store-bound loop over a 4 MiB buffer (bench/pvm_vs_anan.sh).
; Every pass walks the buffer sequentially, adding the running value to each 64-bit word
; (load + store), and per word also loads one pseudo-random word of the buffer (an LCG picks the
; address), so both the sequential and the scattered access paths are exercised. 11
; instructions and 3 memory accesses per word. A final pass sums the buffer into r7.
;   r2  buffer start      r3  buffer end        r4  passes left      r5  cursor
;   r6  word              r7  checksum (result) r8  random word      r9  running value / LCG
;   r10 random address    r11 LCG multiplier    r12 halt address
; Result (40 passes): r7 = 17924351428166418432, r9 = 13608838132393331600;
; 232,784,083 instructions.
; bench-expect: status=halt r7=17924351428166418432 r9=13608838132393331600 instructions=232784083
; bench-quick: PASSES=1 status=halt r7=311482623108841472 r9=10088977030075669536 instructions=7864336
;
; bench-map: 0x100000:0x400000:rw

.equ BUF, 0x100000
.equ LEN, 0x400000
.equ PASSES, 40

        load_imm_64 r12, 0xFFFF0000
        load_imm_64 r2, BUF
        load_imm_64 r3, BUF + LEN
        load_imm_64 r4, PASSES
        load_imm_64 r11, 6364136223846793005
        load_imm r9, 1
        fallthrough
pass:
        move_reg r5, r2
        fallthrough
word:
        load_ind_u64 r6, r5, 0                  ; sequential read-modify-write
        add_64 r6, r6, r9
        store_ind_u64 r6, r5, 0
        mul_64 r9, r9, r11                      ; LCG step
        add_imm_64 r9, r9, 0x7767814F
        shlo_r_imm_64 r10, r9, 40               ; scattered read at a random word
        and_imm r10, r10, LEN - 8
        add_64 r10, r10, r2
        load_ind_u64 r8, r10, 0
        add_imm_64 r5, r5, 8
        branch_lt_u r5, r3, word
        xor r9, r9, r8
        add_imm_64 r4, r4, -1
        branch_ne_imm r4, 0, pass
        move_reg r5, r2                         ; checksum of the whole buffer
        load_imm r7, 0
        fallthrough
sum:
        load_ind_u64 r6, r5, 0
        add_64 r7, r7, r6
        add_imm_64 r5, r5, 8
        branch_lt_u r5, r3, sum
        jump_ind r12, 0
