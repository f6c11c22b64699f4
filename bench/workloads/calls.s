; calls: indirect calls and returns through the jump table (bench/pvm_vs_anan.sh).
; Each iteration picks one of four functions by the loop counter (jump-table index = counter
; mod 4), calls it with load_imm_jump_ind (the return address, itself a jump-table entry, goes
; to r0) and the function returns with jump_ind r0: two dynamic jumps per iteration.
;   r0  return address    r3  callee's djump address    r7  iterations left
;   r9  accumulator (result)    r10 second accumulator (result)    r11 constant
;   r12 halt address
; Result (24,000,000 iterations): r9 = 9178058870530893936, r10 = 17420991001920106443;
; 186,000,007 instructions.
; bench-expect: status=halt r9=9178058870530893936 r10=17420991001920106443 instructions=186000007
; bench-quick: ITERATIONS=1000 status=halt r9=2168692566413360996 r10=14407217074520225747 instructions=7757

.equ ITERATIONS, 24_000_000
.equ RET, 2 * 5                                 ; djump address of jump-table entry 4 (ret)

        .jumptable f0, f1, f2, f3, ret          ; djump address of entry i = 2 * (i + 1)

        load_imm_64 r12, 0xFFFF0000
        load_imm_64 r7, ITERATIONS
        load_imm_64 r11, 0x9E3779B97F4A7C15
        load_imm r9, 0
        load_imm r10, 0
        fallthrough
loop:
        and_imm r3, r7, 3                       ; callee = counter mod 4
        shlo_l_imm_64 r3, r3, 1
        load_imm_jump_ind r0, r3, RET, 2        ; r0 = RET; djump(r3 + 2)
ret:
        add_imm_64 r7, r7, -1
        branch_ne_imm r7, 0, loop
        jump_ind r12, 0

f0:
        add_64 r9, r9, r7
        jump_ind r0, 0
f1:
        xor r9, r9, r11
        rot_r_64_imm r9, r9, 7
        jump_ind r0, 0
f2:
        mul_64 r10, r9, r11
        add_64 r9, r9, r10
        jump_ind r0, 0
f3:
        sub_64 r9, r9, r7
        add_imm_64 r10, r10, 1
        jump_ind r0, 0
