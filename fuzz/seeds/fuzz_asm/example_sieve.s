
; sieve.s — count the primes below N with the sieve of Eratosthenes.
;
; Memory: one byte per number at BUF (0 = maybe prime, 1 = composite). A raw program has no
; memory of its own, so map it when running:
;     javm asm examples/sieve.s -o sieve.pvm
;     javm run --map 0x20000:0xF5000:rw sieve.pvm
; Result: halts with r7 = 78498 (the number of primes below 1000000).
; bench-map: 0x20000:0xF5000:rw
;
; Registers: r1 BUF, r2 i, r3 N, r4 j (multiples of i), r5 address, r6 a flag byte,
;            r7 the count (result), r12 the halt address.

.equ N,   1000000
.equ BUF, 0x20000

        load_imm_64 r12, 0xFFFF0000     ; jumping here halts
        load_imm r1, BUF
        load_imm r2, 2
        load_imm r3, N
        fallthrough                     ; a branch target must start a basic block

outer:                                  ; for (i = 2; i * i < N; i++)
        mul_64 r4, r2, r2
        branch_ge_u r4, r3, count
        add_64 r5, r1, r2
        load_ind_u8 r6, r5, 0
        branch_ne_imm r6, 0, next       ; i is composite: nothing to cross out
cross:                                  ; for (j = i * i; j < N; j += i) buf[j] = 1
        add_64 r5, r1, r4
        store_imm_ind_u8 r5, 0, 1
        add_64 r4, r4, r2
        branch_lt_u r4, r3, cross
next:
        add_imm_64 r2, r2, 1
        jump outer

count:                                  ; r7 = #{ i in [2, N) : buf[i] == 0 }
        load_imm r7, 0
        load_imm r2, 2
        fallthrough
tally:
        add_64 r5, r1, r2
        load_ind_u8 r6, r5, 0
        set_lt_u_imm r6, r6, 1          ; 1 if buf[i] == 0
        add_64 r7, r7, r6
        add_imm_64 r2, r2, 1
        branch_lt_u r2, r3, tally
        jump_ind r12, 0                 ; halt
