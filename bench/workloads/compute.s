; compute: a pure ALU loop (bench/pvm_vs_anan.sh).
; xorshift64 state step, a 64-bit multiply-accumulate and a rotate; one basic block of 11
; instructions per iteration, no memory access.
;   r7  iterations left          r8  xorshift state       r9  accumulator (result)
;   r10 scratch                  r11 odd multiplier       r12 halt address
; Result (30,000,000 iterations): r8 = 4188956549137431208, r9 = 5064197170288924839;
; 330,000,007 instructions.
; bench-expect: status=halt r8=4188956549137431208 r9=5064197170288924839 instructions=330000007
; bench-quick: ITERATIONS=1000 status=halt r8=6248290529083013365 r9=16123025934973765390 instructions=11007

.equ ITERATIONS, 30_000_000

        load_imm_64 r12, 0xFFFF0000             ; djump here = halt
        load_imm_64 r7, ITERATIONS
        load_imm_64 r8, 0x9E3779B97F4A7C15
        load_imm_64 r11, 0xD6E8FEB86659FD93
        load_imm r9, 0
        fallthrough                             ; the loop head must start a basic block
loop:
        shlo_l_imm_64 r10, r8, 13               ; x ^= x << 13
        xor r8, r8, r10
        shlo_r_imm_64 r10, r8, 7                ; x ^= x >> 7
        xor r8, r8, r10
        shlo_l_imm_64 r10, r8, 17               ; x ^= x << 17
        xor r8, r8, r10
        mul_64 r10, r8, r11                     ; acc = rotr(acc + x * K, 29)
        add_64 r9, r9, r10
        rot_r_64_imm r9, r9, 29
        add_imm_64 r7, r7, -1
        branch_ne_imm r7, 0, loop
        jump_ind r12, 0
