"""The gp08 vectors (tests/vectors/gp08, the "steps" format) through the Python binding, on
every available engine: programs loaded in the gp08 dialect with the gp08 gas model; the
steps set registers, map pages, write memory, run, and assert status, pc, registers, gas, the
page-fault address and memory (the non-zero bytes of every mapped page must be exactly the
expected chunks' non-zero bytes)."""
import json
from pathlib import Path

import pytest

import javm

VECTORS = sorted((Path(__file__).resolve().parents[3] / "tests" / "vectors" / "gp08").glob("*.json"))
STATUS = {"halt": javm.ExitKind.HALT, "panic": javm.ExitKind.PANIC,
          "out-of-gas": javm.ExitKind.OUT_OF_GAS, "page-fault": javm.ExitKind.PAGE_FAULT,
          "host-call": javm.ExitKind.HOST_CALL}


def test_the_vectors_are_there():
    assert len(VECTORS) == 356


@pytest.mark.parametrize("engine", javm.engines())
@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector(path, engine):
    v = json.loads(path.read_text())
    with javm.Program.load(bytes(v["program"]), isa="gp08", gas_model="gp08") as prog, \
            javm.Instance(prog, engine=engine, gas_model="gp08") as vm:
        assert (prog.isa, prog.gas_model) == ("gp08", "gp08")
        vm.gas = v["initial-gas"]
        vm.pc = v["initial-pc"]
        regions = []
        ex = None
        for step in v["steps"]:
            kind = step["kind"]
            if kind == "set-reg":
                vm.registers[step["reg"]] = step["value"]
            elif kind == "map":
                vm.map(step["address"], step["length"],
                       javm.Access.RW if step["is_writable"] else javm.Access.RO)
                regions.append((step["address"], step["length"]))
            elif kind == "write":
                vm.write(step["address"], bytes(step["contents"]))
            elif kind == "run":
                ex = vm.run()
            elif kind == "assert":
                assert ex is not None
                assert ex.kind == STATUS[step["status"]]
                assert ex.pc == step["pc"]
                assert list(vm.registers) == step["regs"]
                assert vm.gas == step["gas"]
                if "page_fault_address" in step:
                    assert ex.address == step["page_fault_address"]
                mem = {}
                for a, n in regions:
                    data = vm.read(a, n)
                    mem.update({a + i: b for i, b in enumerate(data) if b})
                want = {c["address"] + i: b for c in step["memory"]
                        for i, b in enumerate(c["contents"]) if b}
                assert mem == want
            else:
                pytest.fail(f"unknown step kind {kind!r}")
