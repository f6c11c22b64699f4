
; sort.s — insertion sort of COUNT pseudo-random numbers, then a check and a checksum.
;
; The numbers come from a 64-bit linear congruential generator, x = x * A + C (seed 12345),
; taking x >> 33; they are stored as u64 at BUF. Map the array's memory when running:
;     javm asm examples/sort.s -o sort.pvm
;     javm run --map 0x20000:0x4000:rw sort.pvm
; Result: halts with r7 = 1 (the array is sorted) and r8 = 2887199474963812, the
; order-dependent checksum sum(a[i] * (i + 1)) over the sorted array (mod 2^64).
;
; Registers: r1 BUF, r2 i, r3 COUNT, r4 x, r5 v, r6 &a[j], r9 previous value, r10 A, r11 C,
;            r7 sorted flag (result), r8 checksum (result), r0 scratch, r12 the halt address.

.equ COUNT, 2000
.equ BUF,   0x20000

        load_imm_64 r12, 0xFFFF0000
        load_imm r1, BUF
        load_imm r3, COUNT
        load_imm_64 r10, 6364136223846793005
        load_imm_64 r11, 1442695040888963407
        load_imm r4, 12345
        load_imm r2, 0
        fallthrough

fill:                                   ; a[i] = (x = x * A + C) >> 33
        mul_64 r4, r4, r10
        add_64 r4, r4, r11
        shlo_r_imm_64 r5, r4, 33
        shlo_l_imm_64 r6, r2, 3
        add_64 r6, r6, r1
        store_ind_u64 r5, r6, 0
        add_imm_64 r2, r2, 1
        branch_lt_u r2, r3, fill

        load_imm r2, 1
        fallthrough
sort:                                   ; for (i = 1; i < COUNT; i++)
        branch_ge_u r2, r3, verify
        shlo_l_imm_64 r6, r2, 3
        add_64 r6, r6, r1               ; r6 = &a[i]
        load_ind_u64 r5, r6, 0          ; v = a[i]
        fallthrough
shift:                                  ; while (j > 0 && a[j-1] > v) a[j] = a[j-1], j--
        branch_eq r6, r1, place
        load_ind_u64 r0, r6, -8
        branch_ge_u r5, r0, place
        store_ind_u64 r0, r6, 0
        add_imm_64 r6, r6, -8
        jump shift
place:
        store_ind_u64 r5, r6, 0         ; a[j] = v
        add_imm_64 r2, r2, 1
        jump sort

verify:                                 ; r7 = sorted?, r8 = sum(a[i] * (i + 1))
        load_imm r7, 1
        load_imm r8, 0
        load_imm r9, 0
        load_imm r2, 0
        fallthrough
check:
        shlo_l_imm_64 r6, r2, 3
        add_64 r6, r6, r1
        load_ind_u64 r5, r6, 0
        set_lt_u r0, r5, r9             ; 1 if a[i] < a[i-1]
        xor_imm r0, r0, 1
        and r7, r7, r0
        move_reg r9, r5
        add_imm_64 r2, r2, 1
        mul_64 r0, r5, r2
        add_64 r8, r8, r0
        branch_lt_u r2, r3, check
        jump_ind r12, 0                 ; halt
