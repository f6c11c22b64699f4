"""The gp08 vectors (tests/vectors/gp08, the "steps" format) through the Python binding, on
every available engine: programs loaded in the gp08 dialect with the gp08 gas model; the
steps set registers, map pages, write memory, run, and assert status, pc, registers, gas, the
page-fault address and memory (the non-zero bytes of every mapped page must be exactly the
expected chunks' non-zero bytes)."""
import json

import pytest

import javm
from vectors_common import STATUS, nonzero_chunks, nonzero_mapped, vector_files

VECTORS = vector_files("gp08")


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
                assert nonzero_mapped(vm, regions) == nonzero_chunks(step["memory"])
            else:
                pytest.fail(f"unknown step kind {kind!r}")
