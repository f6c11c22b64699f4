"""Shared by the vector tests (test_vectors.py, test_vectors_gp08.py): a vector set's files, the
status names of the JSON format, and the non-zero bytes of memory by address (vectors compare
only those: every mapped byte not in an expected chunk must be zero)."""
from pathlib import Path

import javm

STATUS = {"halt": javm.ExitKind.HALT, "panic": javm.ExitKind.PANIC,
          "out-of-gas": javm.ExitKind.OUT_OF_GAS, "page-fault": javm.ExitKind.PAGE_FAULT,
          "host-call": javm.ExitKind.HOST_CALL}


def vector_files(dialect):
    """The JSON files of tests/vectors/<dialect>, sorted."""
    root = Path(__file__).resolve().parents[3]
    return sorted((root / "tests" / "vectors" / dialect).glob("*.json"))


def nonzero_chunks(chunks):
    """{addr: byte} of the non-zero bytes of a vector's memory chunks."""
    return {c["address"] + i: b for c in chunks for i, b in enumerate(c["contents"]) if b}


def nonzero_mapped(vm, regions):
    """{addr: byte} of the non-zero bytes of vm's (address, length) regions."""
    mem = {}
    for a, n in regions:
        data = vm.read(a, n)
        mem.update({a + i: b for i, b in enumerate(data) if b})
    return mem
