"""The Python binding: host-call round trips, memory, registers, gas and pc, exits, stats,
errors carrying javm_last_error(), standard containers, lifetimes and reprs."""
import struct

import pytest

import javm

HALT = "        load_imm_64 r12, 0xFFFF0000\n"
ENGINES = javm.engines()


def test_engines_and_version():
    assert "soft" in ENGINES
    assert javm.version().count(".") == 2


@pytest.mark.parametrize("engine", ENGINES)
def test_host_call_round_trip(asm, engine):
    """The host sees the guest's registers and memory at each call, and the guest sees what
    the host wrote (registers, memory, gas) when it resumes after the ecalli."""
    blob = asm(HALT + """
        load_imm r7, 0x20000
        load_imm r8, 3
        store_imm_u32 0x20000, 0x11223344
        ecalli 7                      ; host: reads [r7], writes [r7 + 8], sets r9
        load_ind_u64 r10, r7, 8       ; what the host wrote
        add_64 r11, r10, r9
        ecalli 8
        jump_ind r12, 0
""")
    calls = []

    def host(vm, call):
        calls.append((call, vm.pc, list(vm.registers)))
        if call == 7:
            assert vm.read(vm.registers[7], 4) == struct.pack("<I", 0x11223344)
            vm.write(vm.registers[7] + 8, struct.pack("<Q", 1000))
            vm.registers[9] = vm.registers[8] * 2
            vm.gas = vm.gas - 100
        return None

    with javm.Program.load(blob) as prog, javm.Instance(prog, engine=engine) as vm:
        vm.map(0x20000, 4096)
        vm.gas = 1000
        ex = vm.run(host=host)
        assert ex.kind == javm.ExitKind.HALT
        assert [c[0] for c in calls] == [7, 8]
        assert vm.registers[10] == 1000 and vm.registers[9] == 6 and vm.registers[11] == 1006
        assert vm.gas == 1000 - 100 - vm.stats.instructions
        assert vm.stats.instructions == 9


@pytest.mark.parametrize("engine", ENGINES)
def test_run_without_host_returns_host_call_and_resumes(asm, engine):
    blob = asm(HALT + "        ecalli 42\n        load_imm r7, 5\n        jump_ind r12, 0\n")
    with javm.Program.load(blob) as prog, javm.Instance(prog, engine=engine) as vm:
        vm.gas = 100
        ex = vm.run()
        assert ex.kind == javm.ExitKind.HOST_CALL and ex.host_call == 42 and ex.address is None
        assert ex.next_pc > ex.pc
        assert "host_call=42" in repr(ex)
        ex = vm.run()
        assert ex.kind == javm.ExitKind.HALT and ex.host_call is None
        assert vm.registers[7] == 5


def test_host_callback_can_stop(asm):
    blob = asm(HALT + "        ecalli 1\n        ecalli 2\n        jump_ind r12, 0\n")
    with javm.Program.load(blob) as prog, javm.Instance(prog) as vm:
        vm.gas = 100
        ex = vm.run(host=lambda vm, call: call != 2)
        assert ex.kind == javm.ExitKind.HOST_CALL and ex.host_call == 2
        assert vm.run(host=lambda vm, call: None).kind == javm.ExitKind.HALT


def test_host_callback_exception_propagates(asm):
    blob = asm(HALT + "        ecalli 1\n        jump_ind r12, 0\n")

    def host(vm, call):
        raise RuntimeError("host failed")

    with javm.Program.load(blob) as prog, javm.Instance(prog) as vm:
        vm.gas = 100
        with pytest.raises(RuntimeError, match="host failed"):
            vm.run(host=host)


@pytest.mark.parametrize("engine", ENGINES)
def test_page_fault_then_map_and_retry(asm, engine):
    blob = asm(HALT + "        load_imm r7, 0x30000\n        store_imm_ind_u8 r7, 5, 9\n"
                      "        jump_ind r12, 0\n")
    with javm.Program.load(blob) as prog, javm.Instance(prog, engine=engine) as vm:
        vm.gas = 100
        ex = vm.run()
        assert ex.kind == javm.ExitKind.PAGE_FAULT and ex.address == 0x30000
        assert "address=0x30000" in repr(ex)
        vm.map(0x30000, 4096)
        assert vm.run().kind == javm.ExitKind.HALT
        assert vm.read(0x30005, 1) == b"\x09"


def test_out_of_gas_and_panic(asm):
    with javm.Program.load(asm("        trap\n")) as prog, javm.Instance(prog) as vm:
        vm.gas = 10
        ex = vm.run()
        assert ex.kind == javm.ExitKind.PANIC and str(ex.kind) == "panic"
    loop = asm("        fallthrough\nl:\n        add_imm_64 r1, r1, 1\n        jump l\n")
    with javm.Program.load(loop) as prog, javm.Instance(prog) as vm:
        vm.gas = 7
        ex = vm.run()
        assert ex.kind == javm.ExitKind.OUT_OF_GAS
        assert vm.registers[1] == 3 and vm.gas == 0  # 7 = 1 + 2 + 2 + 2; the next block unpaid


def test_memory_map_protect_unmap_read_write():
    with javm.Program.load(bytes([0, 0, 1, 0, 1])) as prog, javm.Instance(prog) as vm:
        vm.map(0x20000, 8192, javm.Access.RW, data=b"hello")
        assert vm.read(0x20000, 6) == b"hello\x00"
        assert vm.access(0x21000) == javm.Access.RW
        vm.protect(0x21000, 4096, javm.Access.RO)
        assert vm.access(0x21000) == javm.Access.RO
        vm.write(0x21000, b"host writes read-only pages")
        assert vm.read(0x21000, 4) == b"host"
        vm.unmap(0x20000, 4096)
        assert vm.access(0x20000) == javm.Access.NONE
        with pytest.raises(javm.JavmError) as e:
            vm.read(0x20000, 1)
        assert e.value.status_name == "guest memory range is not mapped"
        assert e.value.message  # the library's detailed message
        with pytest.raises(javm.JavmError) as e:
            vm.map(0x20001, 4096)
        assert e.value.status_name == "address or size is not page-aligned"
        assert e.value.message in str(e.value)
        with pytest.raises(javm.JavmError):
            vm.read(1 << 32, 1)
        with pytest.raises(javm.JavmError):
            vm.read(0x21000, -1)


def test_registers_are_list_like():
    with javm.Program.load(bytes([0, 0, 1, 0, 1])) as prog, javm.Instance(prog) as vm:
        regs = vm.registers
        assert len(regs) == javm.NUM_REGS == 13
        assert list(regs) == [0] * 13
        regs[0] = 1
        regs[-1] = -1  # two's complement
        assert regs[12] == (1 << 64) - 1
        regs[2:5] = [7, 8, 9]
        assert regs[1:6] == [0, 7, 8, 9, 0]
        vm.registers = range(13)
        assert regs == list(range(13))
        assert repr(regs).startswith("Registers([0, 1, 2")
        with pytest.raises(IndexError):
            regs[13]
        with pytest.raises(ValueError):
            vm.registers = [1, 2]
        with pytest.raises(javm.JavmError):
            regs[0] = 1 << 64
        with pytest.raises(TypeError):
            regs["r1"]


def test_gas_pc_and_stats():
    with javm.Program.load(bytes([0, 0, 1, 0, 1])) as prog, javm.Instance(prog) as vm:
        vm.gas = -5
        assert vm.gas == -5
        vm.pc = 0
        assert vm.pc == 0
        with pytest.raises(javm.JavmError):
            vm.gas = 1 << 63
        st = vm.stats
        assert st.instructions == 0 and st.mat_gas == 0


def test_materialization_gas_and_reset(asm):
    blob = asm(HALT + "        store_imm_u8 0x20000, 1\n        jump_ind r12, 0\n")
    with javm.Program.load(blob) as prog, javm.Instance(prog, mat=True, cow_cost=50) as vm:
        vm.map(0x20000, 4096)
        vm.gas = 1000
        assert vm.run().kind == javm.ExitKind.HALT
        assert vm.stats.mat_gas == 50 and vm.stats.cow_pages == 1
        assert vm.gas == 1000 - 3 - 50
        assert vm.reset() == 1
        assert vm.read(0x20000, 1) == b"\x00" and vm.gas == 0


def test_errors_carry_the_library_message():
    with pytest.raises(javm.JavmError) as e:
        javm.Program.load(b"\x05")
    assert e.value.status_name == "malformed program blob"
    assert e.value.message and e.value.message in str(e.value)
    with pytest.raises(javm.JavmError) as e:
        javm.Program.load_standard(b"\x00\x01")
    assert e.value.status_name == "malformed standard program container"
    with javm.Program.load(bytes([0, 0, 1, 0, 1])) as prog:
        with pytest.raises(javm.JavmError) as e:
            javm.Instance(prog, engine="warp")
        assert "warp" in e.value.message
        with pytest.raises(javm.JavmError) as e:
            javm.Instance(prog, gas_model="gp99")
        assert "gp99" in e.value.message


def container(code: bytes, ro: bytes, rw: bytes, heap_pages: int, stack: int) -> bytes:
    le = lambda v, n: v.to_bytes(n, "little")
    return (le(len(ro), 3) + le(len(rw), 3) + le(heap_pages, 2) + le(stack, 3) + ro + rw +
            le(len(code), 4) + code)


@pytest.mark.parametrize("engine", ENGINES)
def test_standard_program(asm, engine):
    """init_standard lays out read-only data at 0x10000, the arguments at r7 (length r8) and
    r0 = the halt address; the guest reads both."""
    code = asm("        load_ind_u8 r9, r7, 0\n        load_u8 r10, 0x10001\n"
               "        jump_ind r0, 0\n")
    blob = container(code, b"\x01\x02\x03", b"\x04", 1, 4096)
    with javm.Program.load_standard(blob) as prog, javm.Instance(prog, engine=engine) as vm:
        assert prog.standard and "standard" in repr(prog)
        vm.init_standard(b"\x2a\x07")
        vm.gas = 100
        assert vm.run().kind == javm.ExitKind.HALT
        assert vm.registers[9] == 0x2a and vm.registers[10] == 2 and vm.registers[8] == 2
        assert vm.read(0x10000, 3) == b"\x01\x02\x03"


def test_lifetimes_and_reprs(asm):
    prog = javm.Program.load(asm(HALT + "        jump_ind r12, 0\n"))
    assert prog.code_size > 0 and prog.disasm(0).startswith("load_imm_64 r12")
    assert prog.disasm(1) is None
    assert "raw" in repr(prog)
    vm = javm.Instance(prog, engine=ENGINES[-1])
    assert repr(vm) == f"<javm.Instance {ENGINES[-1]}, pc=0, gas=0>"
    prog.close()  # deferred: the instance still uses it
    vm.gas = 10
    assert vm.run().kind == javm.ExitKind.HALT
    vm.close()
    vm.close()
    assert repr(vm) == "<javm.Instance closed>" and repr(prog) == "<javm.Program closed>"
    with pytest.raises(javm.JavmError, match="after close"):
        vm.gas
    with pytest.raises(javm.JavmError, match="after close"):
        javm.Instance(prog)


def test_many_instances_share_a_program(asm):
    blob = asm(HALT + "        add_imm_64 r7, r7, 1\n        jump_ind r12, 0\n")
    with javm.Program.load(blob) as prog:
        vms = [javm.Instance(prog) for _ in range(50)]
        for i, vm in enumerate(vms):
            vm.registers[7] = i
            vm.gas = 10
            vm.run()
        assert [vm.registers[7] for vm in vms] == list(range(1, 51))
        for vm in vms:
            vm.close()


def test_isa_and_gas_model_are_load_options():
    """The dialect and gas model are chosen at load; an instance may name the program's model
    but never another one (the library would take gp07 as "the program's", so the binding
    checks)."""
    blob = bytes([0, 0, 1, 0, 1])  # trap
    with javm.Program.load(blob) as p07, javm.Program.load(blob, isa="gp08", gas_model="gp08") as p08:
        assert (p07.isa, p07.gas_model) == ("gp07", "gp07")
        assert (p08.isa, p08.gas_model) == ("gp08", "gp08")
        assert "isa gp08, gas model gp08" in repr(p08)
        javm.Instance(p08, gas_model="gp08").close()
        with pytest.raises(javm.JavmError, match="differs from the program's gp08"):
            javm.Instance(p08, gas_model="gp07")
        with pytest.raises(javm.JavmError, match="differs from the program's gp07"):
            javm.Instance(p07, gas_model="gp08")
    with pytest.raises(javm.JavmError) as e:
        javm.Program.load(blob, isa="gp99")
    assert "gp99" in e.value.message
    with pytest.raises(javm.JavmError):
        javm.Program.load(blob, gas_model="fast")
    with pytest.raises(TypeError):
        javm.Program.load(blob, isa=8)
