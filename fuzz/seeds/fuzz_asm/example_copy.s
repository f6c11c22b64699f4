
; copy.s — fill a 64 KiB buffer, copy it 8 bytes at a time, and checksum both copies with
; FNV-1a (64-bit) in a subroutine called through the jump table.
;
;     javm asm examples/copy.s -o copy.pvm
;     javm run --map 0x20000:0x20000:rw copy.pvm
; Result: halts with r7 = 16070206442764116773 (0xdf04d79db8262325), the FNV-1a hash of the
; copy, r10 = the same hash of the source, and r11 = 1 (they are equal). The source bytes are
; src[i] = (31 * i + 7) mod 256 at SRC; the copy is at DST.
;
; Calls: `load_imm_jump r0, 2*k, fnv` stores the return address 2*k (jump-table entry k-1,
; the instruction after the call) in r0 and jumps; `jump_ind r0, 0` returns through the table.

.equ SRC,  0x20000
.equ DST,  0x30000
.equ SIZE, 0x10000

.jumptable ret_src, ret_dst             ; return addresses 2 and 4

        load_imm_64 r12, 0xFFFF0000
        load_imm r1, SRC
        load_imm r2, 0
        load_imm r3, SIZE
        fallthrough
fill:                                   ; src[i] = 31 * i + 7
        mul_imm_32 r4, r2, 31
        add_imm_32 r4, r4, 7
        add_64 r5, r1, r2
        store_ind_u8 r4, r5, 0
        add_imm_64 r2, r2, 1
        branch_lt_u r2, r3, fill

        load_imm r2, 0
        load_imm r6, DST
        fallthrough
copy:                                   ; 8 bytes per step
        add_64 r5, r1, r2
        load_ind_u64 r4, r5, 0
        add_64 r5, r6, r2
        store_ind_u64 r4, r5, 0
        add_imm_64 r2, r2, 8
        branch_lt_u r2, r3, copy

        load_imm r8, SRC
        load_imm r9, SIZE
        load_imm_jump r0, 2, fnv        ; r7 = fnv(src)
ret_src:
        move_reg r10, r7
        load_imm r8, DST
        load_imm r9, SIZE
        load_imm_jump r0, 4, fnv        ; r7 = fnv(dst)
ret_dst:
        set_lt_u r11, r7, r10           ; r11 = (r7 == r10)
        set_lt_u r4, r10, r7
        or r11, r11, r4
        xor_imm r11, r11, 1
        jump_ind r12, 0                 ; halt

; fnv: r7 = FNV-1a-64 of the r9 bytes at r8; clobbers r4, r5, r8, r9; returns to r0.
fnv:
        load_imm_64 r7, 0xcbf29ce484222325
        load_imm_64 r5, 0x100000001b3
        add_64 r9, r9, r8               ; end
        fallthrough
fnv_loop:
        load_ind_u8 r4, r8, 0
        xor r7, r7, r4
        mul_64 r7, r7, r5
        add_imm_64 r8, r8, 1
        branch_lt_u r8, r9, fnv_loop
        jump_ind r0, 0                  ; return
