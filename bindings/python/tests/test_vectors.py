"""The gp07 conformance vectors (tests/vectors/gp07) through the Python binding, on every
available engine: status, pc, all 13 registers, gas, the page-fault address, and memory (the
non-zero bytes of every mapped page must be exactly the expected chunks' non-zero bytes)."""
import json

import pytest

import javm
from vectors_common import STATUS, nonzero_chunks, nonzero_mapped, vector_files

VECTORS = vector_files("gp07")


def test_the_vectors_are_there():
    assert len(VECTORS) == 307


def run_vector(v, engine):
    """(status, pc, regs, gas, fault address, {addr: byte} of non-zero mapped bytes)."""
    try:
        prog = javm.Program.load(bytes(v["program"]))
    except javm.JavmError as e:
        # a program that does not decode panics at the initial pc with nothing changed
        assert e.status_name == "malformed program blob"
        return (javm.ExitKind.PANIC, v["initial-pc"], v["initial-regs"], v["initial-gas"], None,
                nonzero_chunks(v["initial-memory"]))
    with prog, javm.Instance(prog, engine=engine) as vm:
        for r in v["initial-page-map"]:
            vm.map(r["address"], r["length"], javm.Access.RW if r["is-writable"] else javm.Access.RO)
        for c in v["initial-memory"]:
            vm.write(c["address"], bytes(c["contents"]))
        vm.registers = v["initial-regs"]
        vm.gas = v["initial-gas"]
        vm.pc = v["initial-pc"]
        ex = vm.run()
        mem = nonzero_mapped(vm, [(r["address"], r["length"]) for r in v["initial-page-map"]])
        return ex.kind, ex.pc, list(vm.registers), vm.gas, ex.address, mem


@pytest.mark.parametrize("engine", javm.engines())
@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector(path, engine):
    v = json.loads(path.read_text())
    status, pc, regs, gas, fault, mem = run_vector(v, engine)
    assert status == STATUS[v["expected-status"]]
    assert pc == v["expected-pc"]
    assert regs == v["expected-regs"]
    assert gas == v["expected-gas"]
    if status == javm.ExitKind.PAGE_FAULT:
        assert fault == v["expected-page-fault-address"]
    assert mem == nonzero_chunks(v["expected-memory"])
