; branchy: data-dependent branches (bench/pvm_vs_anan.sh).
; Collatz trajectories of every start value 1 .. LIMIT-1: the odd/even test of each step is a
; poorly predictable branch, and a basic block ends every 2-5 instructions.
;   r2  start value       r3  LIMIT             r4  current value    r5  parity
;   r7  total steps (result)                    r8  largest value seen (result)
;   r12 halt address
; Result (LIMIT 400,000): r7 = 48762334, r8 = 24648077896; 277,758,271 instructions.
; bench-expect: status=halt r7=48762334 r8=24648077896 instructions=277758271
; bench-quick: LIMIT=1000 status=halt r7=59431 r8=250504 instructions=340386

.equ LIMIT, 400_000

        load_imm_64 r12, 0xFFFF0000
        load_imm_64 r3, LIMIT
        load_imm r2, 1
        load_imm r7, 0
        load_imm r8, 0
        fallthrough
outer:
        move_reg r4, r2
        branch_eq_imm r4, 1, next
step:
        and_imm r5, r4, 1
        branch_eq_imm r5, 0, even
        mul_imm_64 r4, r4, 3                    ; odd: n = 3n + 1
        add_imm_64 r4, r4, 1
        max_u r8, r8, r4
        add_imm_64 r7, r7, 1
        jump step                               ; 3n + 1 is never 1
even:
        shlo_r_imm_64 r4, r4, 1                 ; even: n = n / 2
        add_imm_64 r7, r7, 1
        branch_ne_imm r4, 1, step
next:
        add_imm_64 r2, r2, 1
        branch_lt_u r2, r3, outer
        jump_ind r12, 0
