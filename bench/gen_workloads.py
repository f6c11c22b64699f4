#!/usr/bin/env python3
"""Independent encoder for the benchmark workloads (cross-check of `javm asm`).

The workloads themselves are written in PVM assembly in bench/workloads/*.s and assembled by
`javm asm`. This script encodes the same four programs directly from the specification
(docs/ISA.md, docs/PROGRAM.md), instruction for instruction, so that
`bench/pvm_vs_anan.sh --check-encoding` can compare the blobs the project's assembler produces with
an encoding that does not depend on it, and so that the anan-as side can be exercised before the
assembler exists.

Usage: gen_workloads.py OUTDIR     writes OUTDIR/<name>.pvm for every workload
"""
import os
import sys

M64 = (1 << 64) - 1

OPS = {
    'trap': 0, 'fallthrough': 1, 'load_imm_64': 20, 'jump': 40, 'jump_ind': 50, 'load_imm': 51,
    'load_imm_jump': 80, 'branch_eq_imm': 81, 'branch_ne_imm': 82, 'branch_lt_u_imm': 83,
    'branch_ge_u_imm': 85, 'branch_lt_s_imm': 87, 'move_reg': 100,
    'store_ind_u32': 122, 'store_ind_u64': 123, 'load_ind_u32': 128, 'load_ind_u64': 130,
    'add_imm_32': 131, 'and_imm': 132, 'xor_imm': 133, 'or_imm': 134, 'set_lt_u_imm': 136,
    'shlo_l_imm_64': 151, 'shlo_r_imm_64': 152, 'add_imm_64': 149, 'mul_imm_64': 150,
    'rot_r_64_imm': 158,
    'branch_eq': 170, 'branch_ne': 171, 'branch_lt_u': 172, 'branch_ge_u': 174,
    'load_imm_jump_ind': 180,
    'add_64': 200, 'sub_64': 201, 'mul_64': 202, 'and': 210, 'xor': 211, 'or': 212,
    'set_lt_u': 216, 'max_u': 228, 'min_u': 230,
}


def imm_bytes(v):
    """Shortest little-endian encoding (0..4 bytes) whose sign extension gives v (mod 2^64)."""
    v &= M64
    for n in range(0, 5):
        if n == 0:
            if v == 0:
                return b''
            continue
        low = v & ((1 << (8 * n)) - 1)
        ext = low | (M64 ^ ((1 << (8 * n)) - 1)) if low >> (8 * n - 1) else low
        if ext == v:
            return low.to_bytes(n, 'little')
    raise ValueError('immediate %#x does not fit 4 sign-extended bytes' % v)


class Asm:
    """Encoder with labels and jump-table entries given by label."""

    def __init__(self):
        self.items = []          # (kind, data)
        self.jt = []             # label names, in jump-table order

    def label(self, name):
        self.items.append(('label', name))

    def ins(self, *a):
        self.items.append(('ins', a))

    def jt_addr(self, name):
        """The djump address of a jump-table label: 2 * (index + 1)."""
        if name not in self.jt:
            self.jt.append(name)
        return 2 * (self.jt.index(name) + 1)

    def _enc(self, a, pc, labels, width):
        """Encodes one instruction at pc; branch offsets use `width` bytes (0..4)."""
        op = a[0]
        o = OPS[op]

        def off(lbl):
            d = labels.get(lbl, pc) - pc
            return (d & ((1 << (8 * width)) - 1)).to_bytes(width, 'little')

        if op in ('trap', 'fallthrough'):
            return bytes([o])
        if op == 'load_imm_64':          # rA, u64
            return bytes([o, a[1]]) + (a[2] & M64).to_bytes(8, 'little')
        if op == 'jump':
            return bytes([o]) + off(a[1])
        if op in ('jump_ind', 'load_imm'):   # rA, imm
            return bytes([o, a[1]]) + imm_bytes(a[2])
        if o in range(80, 91):           # rA, imm, label
            ib = imm_bytes(a[2])
            return bytes([o, a[1] | (len(ib) << 4)]) + ib + off(a[3])
        if op == 'move_reg':             # rD, rA
            return bytes([o, a[1] | (a[2] << 4)])
        if o in range(120, 162):         # rA, rB, imm
            return bytes([o, a[1] | (a[2] << 4)]) + imm_bytes(a[3])
        if o in range(170, 176):         # rA, rB, label
            return bytes([o, a[1] | (a[2] << 4)]) + off(a[3])
        if op == 'load_imm_jump_ind':    # rA, rB, immX, immY
            x, y = imm_bytes(a[3]), imm_bytes(a[4])
            return bytes([o, a[1] | (a[2] << 4), len(x)]) + x + y
        if o in range(190, 231):         # rD, rA, rB   (φD = φA op φB)
            return bytes([o, a[2] | (a[3] << 4), a[1]])
        raise ValueError(op)

    def blob(self):
        """Minimal encodings: branch-offset widths grow from 0 to a fixpoint (a width never
        shrinks), jump-table entries use the smallest width that holds every target."""
        widths = [0] * len(self.items)
        while True:
            labels, pcs, pc = {}, [], 0
            for i, (kind, data) in enumerate(self.items):
                pcs.append(pc)
                if kind == 'label':
                    labels[data] = pc
                else:
                    pc += len(self._enc(data, pc, {}, widths[i]))
            changed = False
            for i, (kind, data) in enumerate(self.items):
                if kind == 'ins' and len(data) > 1 and isinstance(data[-1], str):
                    need = len(imm_bytes(labels[data[-1]] - pcs[i]))
                    if need > widths[i]:
                        widths[i], changed = need, True
            if not changed:
                break
        code = bytearray()
        starts = []
        for i, (kind, data) in enumerate(self.items):
            if kind == 'ins':
                starts.append(len(code))
                code += self._enc(data, len(code), labels, widths[i])
        mask = bytearray((len(code) + 7) // 8)
        for s in starts:
            mask[s // 8] |= 1 << (s % 8)
        targets = [labels[n] for n in self.jt]
        z = 0
        while targets and max(targets) >= (1 << (8 * z)):
            z += 1
        out = varint(len(targets)) + bytes([z]) + varint(len(code))
        for t in targets:
            out += t.to_bytes(z, 'little')
        return bytes(out + code + mask)


def varint(x):
    if x < 128:
        return bytes([x])
    for l in range(1, 8):
        if x < (1 << (7 * (l + 1))):
            prefix = (256 - (1 << (8 - l))) + (x >> (8 * l))
            return bytes([prefix]) + (x & ((1 << (8 * l)) - 1)).to_bytes(l, 'little')
    return b'\xff' + x.to_bytes(8, 'little')


HALT = 0xFFFF0000

# Register names used below.
R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12 = range(13)


def compute(n):
    """xorshift64 + multiply-accumulate + rotate: pure ALU, one block per iteration (11 instr)."""
    a = Asm()
    a.ins('load_imm_64', R12, HALT)
    a.ins('load_imm_64', R7, n)
    a.ins('load_imm_64', R8, 0x9E3779B97F4A7C15)
    a.ins('load_imm_64', R11, 0xD6E8FEB86659FD93)
    a.ins('load_imm', R9, 0)
    a.ins('fallthrough')
    a.label('loop')
    a.ins('shlo_l_imm_64', R10, R8, 13)
    a.ins('xor', R8, R8, R10)
    a.ins('shlo_r_imm_64', R10, R8, 7)
    a.ins('xor', R8, R8, R10)
    a.ins('shlo_l_imm_64', R10, R8, 17)
    a.ins('xor', R8, R8, R10)
    a.ins('mul_64', R10, R8, R11)
    a.ins('add_64', R9, R9, R10)
    a.ins('rot_r_64_imm', R9, R9, 29)
    a.ins('add_imm_64', R7, R7, -1)
    a.ins('branch_ne_imm', R7, 0, 'loop')
    a.ins('jump_ind', R12, 0)
    return a.blob()


BUF = 0x100000           # 4 MiB read-write buffer at 1 MiB
BUF_LEN = 0x400000


def memory(passes):
    """Sequential read-modify-write of a 4 MiB buffer plus one pseudo-random 8-byte load per
    element (an LCG picks the address), then a checksum pass. 11 instructions per element."""
    a = Asm()
    a.ins('load_imm_64', R12, HALT)
    a.ins('load_imm_64', R2, BUF)
    a.ins('load_imm_64', R3, BUF + BUF_LEN)
    a.ins('load_imm_64', R4, passes)
    a.ins('load_imm_64', R11, 6364136223846793005)
    a.ins('load_imm', R9, 1)
    a.ins('fallthrough')
    a.label('pass')
    a.ins('move_reg', R5, R2)
    a.ins('fallthrough')
    a.label('elem')
    a.ins('load_ind_u64', R6, R5, 0)
    a.ins('add_64', R6, R6, R9)
    a.ins('store_ind_u64', R6, R5, 0)
    a.ins('mul_64', R9, R9, R11)
    a.ins('add_imm_64', R9, R9, 0x7767814F)
    a.ins('shlo_r_imm_64', R10, R9, 40)
    a.ins('and_imm', R10, R10, BUF_LEN - 8)
    a.ins('add_64', R10, R10, R2)
    a.ins('load_ind_u64', R8, R10, 0)
    a.ins('add_imm_64', R5, R5, 8)
    a.ins('branch_lt_u', R5, R3, 'elem')
    a.ins('xor', R9, R9, R8)
    a.ins('add_imm_64', R4, R4, -1)
    a.ins('branch_ne_imm', R4, 0, 'pass')
    # checksum: r7 = sum of all 64-bit words
    a.ins('move_reg', R5, R2)
    a.ins('load_imm', R7, 0)
    a.ins('fallthrough')
    a.label('sum')
    a.ins('load_ind_u64', R6, R5, 0)
    a.ins('add_64', R7, R7, R6)
    a.ins('add_imm_64', R5, R5, 8)
    a.ins('branch_lt_u', R5, R3, 'sum')
    a.ins('jump_ind', R12, 0)
    return a.blob()


def branchy(limit):
    """Collatz: total steps for every start value 1..limit-1. Data-dependent branches; a basic
    block every 2-4 instructions. r7 = total steps, r8 = max value seen."""
    a = Asm()
    a.ins('load_imm_64', R12, HALT)
    a.ins('load_imm_64', R3, limit)
    a.ins('load_imm', R2, 1)
    a.ins('load_imm', R7, 0)
    a.ins('load_imm', R8, 0)
    a.ins('fallthrough')
    a.label('outer')
    a.ins('move_reg', R4, R2)
    a.ins('branch_eq_imm', R4, 1, 'next')
    a.label('step')
    a.ins('and_imm', R5, R4, 1)
    a.ins('branch_eq_imm', R5, 0, 'even')
    a.ins('mul_imm_64', R4, R4, 3)
    a.ins('add_imm_64', R4, R4, 1)
    a.ins('max_u', R8, R8, R4)
    a.ins('add_imm_64', R7, R7, 1)
    a.ins('jump', 'step')               # 3n+1 is never 1
    a.label('even')
    a.ins('shlo_r_imm_64', R4, R4, 1)
    a.ins('add_imm_64', R7, R7, 1)
    a.ins('branch_ne_imm', R4, 1, 'step')
    a.label('next')
    a.ins('add_imm_64', R2, R2, 1)
    a.ins('branch_lt_u', R2, R3, 'outer')
    a.ins('jump_ind', R12, 0)
    return a.blob()


def calls(n):
    """Indirect calls through the jump table: each iteration picks one of four functions by the
    loop counter (table index = counter mod 4), calls it with load_imm_jump_ind (return address
    in r0, itself a jump-table entry) and the function returns with jump_ind r0."""
    a = Asm()
    fns = ['f0', 'f1', 'f2', 'f3']
    for f in fns:
        a.jt_addr(f)
    ret = a.jt_addr('ret')
    a.ins('load_imm_64', R12, HALT)
    a.ins('load_imm_64', R7, n)
    a.ins('load_imm_64', R11, 0x9E3779B97F4A7C15)
    a.ins('load_imm', R9, 0)
    a.ins('load_imm', R10, 0)
    a.ins('fallthrough')
    a.label('loop')
    a.ins('and_imm', R3, R7, 3)
    a.ins('shlo_l_imm_64', R3, R3, 1)
    a.ins('load_imm_jump_ind', R0, R3, ret, 2)
    a.label('ret')
    a.ins('add_imm_64', R7, R7, -1)
    a.ins('branch_ne_imm', R7, 0, 'loop')
    a.ins('jump_ind', R12, 0)
    a.label('f0')
    a.ins('add_64', R9, R9, R7)
    a.ins('jump_ind', R0, 0)
    a.label('f1')
    a.ins('xor', R9, R9, R11)
    a.ins('rot_r_64_imm', R9, R9, 7)
    a.ins('jump_ind', R0, 0)
    a.label('f2')
    a.ins('mul_64', R10, R9, R11)
    a.ins('add_64', R9, R9, R10)
    a.ins('jump_ind', R0, 0)
    a.label('f3')
    a.ins('sub_64', R9, R9, R7)
    a.ins('add_imm_64', R10, R10, 1)
    a.ins('jump_ind', R0, 0)
    return a.blob()


# name -> (blob builder, size argument, memory map list "ADDR:LEN:rw")
WORKLOADS = {
    'compute': (compute, 30_000_000, []),
    'memory': (memory, 40, ['%#x:%#x:rw' % (BUF, BUF_LEN)]),
    'branchy': (branchy, 400_000, []),
    'calls': (calls, 24_000_000, []),
}


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, (fn, size, _maps) in WORKLOADS.items():
        with open(os.path.join(out, name + '.pvm'), 'wb') as f:
            f.write(fn(size))
    return 0


if __name__ == '__main__':
    sys.exit(main())
