"""javm — run JAM PVM programs from Python, over libjavm's C API (ctypes; no compiler needed).

A program is loaded once and is immutable; any number of instances run it, each with its own
registers, gas, pc and paged guest memory::

    import javm

    with javm.Program.load(blob) as prog, javm.Instance(prog, engine="soft") as vm:
        vm.map(0x20000, 4096)                 # read-write by default
        vm.gas = 100_000
        exit = vm.run(host=lambda vm, call: ...)   # serve host calls until another exit
        print(exit.kind, vm.registers[7], vm.gas)

Errors of the API raise :class:`JavmError`, carrying the status and ``javm_last_error()``'s
message. Guest outcomes (halt, panic, out of gas, page fault, host call) are not errors: they are
the :class:`Exit` that :meth:`Instance.run` returns. An instance belongs to one thread at a time.
"""
from __future__ import annotations

import ctypes
import enum
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Union, overload

from . import _lib
from ._lib import NUM_REGS, lib

__all__ = ["JavmError", "ExitKind", "Access", "Exit", "Stats", "Program", "Instance",
           "Registers", "engines", "version", "NUM_REGS", "PAGE_SIZE", "HALT_ADDRESS"]

PAGE_SIZE = 4096
HALT_ADDRESS = 0xFFFF0000  # a dynamic jump here halts


def _parse(fn, name: str, what: str) -> int:
    """An enum value by its name through the library's parser (javm_isa_parse, ...)."""
    if not isinstance(name, str):
        raise TypeError(f"{what}: {name!r} is not a name")
    v = ctypes.c_int()
    _check(fn(name.encode(), ctypes.byref(v)))
    return v.value


def version() -> str:
    """The library's version string, e.g. ``"0.2.0"``."""
    return lib.javm_version().decode()


class JavmError(Exception):
    """A failing C API call: ``status`` (the javm_status value), ``status_name`` (its static
    description) and ``message`` (javm_last_error(), naming the problem)."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.status_name = lib.javm_status_str(status).decode()
        self.message = message
        super().__init__(f"{message} ({self.status_name})" if message else self.status_name)


def _check(status: int) -> None:
    if status != 0:
        raise JavmError(status, lib.javm_last_error().decode(errors="replace"))


def _error(message: str) -> JavmError:
    return JavmError(1, message)  # JAVM_ERR_INVALID_ARGUMENT, for arguments refused here


class ExitKind(enum.IntEnum):
    """How a run ended (javm_exit_kind)."""
    HALT = 0        #: dynamic jump to 0xFFFF0000
    PANIC = 1       #: trap, invalid jump, access below 64 KiB, ...
    OUT_OF_GAS = 2  #: pc = start of the block that could not be paid; state unchanged
    PAGE_FAULT = 3  #: Exit.address = page base of the lowest inaccessible byte
    HOST_CALL = 4   #: Exit.host_call = the ecalli id; run() again resumes after it

    def __str__(self) -> str:
        return lib.javm_exit_str(int(self)).decode()


class Access(enum.IntEnum):
    """Page permissions (javm_access)."""
    NONE = 0
    RO = 1
    RW = 2


@dataclass(frozen=True)
class Exit:
    """The result of :meth:`Instance.run`.

    ``pc`` is the exiting instruction's pc; ``next_pc`` where a host call resumes; ``arg`` the
    raw argument (fault address or host-call id), also available as ``address`` / ``host_call``
    (None for other kinds)."""
    kind: ExitKind
    pc: int
    next_pc: int
    arg: int

    @property
    def address(self) -> Optional[int]:
        """The fault address of a PAGE_FAULT exit, else None."""
        return self.arg if self.kind == ExitKind.PAGE_FAULT else None

    @property
    def host_call(self) -> Optional[int]:
        """The host-call id of a HOST_CALL exit, else None."""
        return self.arg if self.kind == ExitKind.HOST_CALL else None

    def __repr__(self) -> str:
        extra = ""
        if self.kind == ExitKind.PAGE_FAULT:
            extra = f", address={self.arg:#x}"
        elif self.kind == ExitKind.HOST_CALL:
            extra = f", host_call={self.arg}, next_pc={self.next_pc}"
        return f"Exit({self.kind}, pc={self.pc}{extra})"


@dataclass(frozen=True)
class Stats:
    """Per-instance counters, accumulated across runs (javm_stats)."""
    instructions: int
    first_touch_faults: int
    cow_pages: int
    ro_units: int
    mat_gas: int


def engines() -> List[str]:
    """Names of the engines this library can run here (e.g. ``["soft", "paged"]``)."""
    out = []
    for name in ("soft", "paged", "jit"):
        e = ctypes.c_int()
        if lib.javm_engine_parse(name.encode(), ctypes.byref(e)) == 0 and \
                lib.javm_engine_available(e.value):
            out.append(name)
    return out


class Program:
    """A loaded, validated PVM program (immutable; shareable by instances on any thread).

    Create with :meth:`load` (a raw program blob) or :meth:`load_standard` (a standard program
    container). The C program is freed by :meth:`close` (or leaving a ``with`` block) once no
    instance made from it is still open."""

    def __init__(self, _handle: int, _standard: bool):
        # use Program.load / Program.load_standard
        self._h: Optional[int] = _handle
        self._standard = _standard
        self._instances = 0
        self._closed = False

    @classmethod
    def load(cls, blob: bytes, isa: str = "gp07", gas_model: str = "gp07") -> "Program":
        """Load a raw program blob (jump table, code, bitmask); raises JavmError if malformed.

        ``isa`` is the instruction-set dialect the code is decoded in (``"gp07"`` or
        ``"gp08"``), ``gas_model`` the gas model its block costs are computed with once
        (``"gp07"``: a block costs its instruction count; ``"gp08"``: the GP 0.8 pipeline
        model). Every instance of the program runs in that dialect and model."""
        return cls._load(lib.javm_program_load_ex, blob, False, isa, gas_model)

    @classmethod
    def load_standard(cls, blob: bytes, isa: str = "gp07", gas_model: str = "gp07") -> "Program":
        """Load a standard program container (read-only data, read-write data, heap and stack
        sizes, code); lay instances out with :meth:`Instance.init_standard`. ``isa`` and
        ``gas_model`` as for :meth:`load`."""
        return cls._load(lib.javm_program_load_standard_ex, blob, True, isa, gas_model)

    @classmethod
    def _load(cls, fn, blob: bytes, standard: bool, isa: str, gas_model: str) -> "Program":
        opts = _lib.LoadOptionsStruct()
        opts.size = ctypes.sizeof(opts)
        opts.isa = _parse(lib.javm_isa_parse, isa, "isa")
        opts.gas_model = _parse(lib.javm_gas_model_parse, gas_model, "gas_model")
        data = bytes(blob)
        h = ctypes.c_void_p()
        _check(fn(_lib.bytes_arg(data), len(data), ctypes.byref(opts), ctypes.byref(h)))
        return cls(h.value, standard)

    def _handle(self) -> int:
        if self._closed or self._h is None:
            raise _error("program: used after close()")
        return self._h

    @property
    def code_size(self) -> int:
        """Length of the code in bytes."""
        return lib.javm_program_code_size(self._handle())

    @property
    def isa(self) -> str:
        """The instruction-set dialect the program was loaded in (``"gp07"`` / ``"gp08"``)."""
        return lib.javm_isa_name(lib.javm_program_isa(self._handle())).decode()

    @property
    def gas_model(self) -> str:
        """The gas model the program's block costs were computed with."""
        return lib.javm_gas_model_name(lib.javm_program_gas_model(self._handle())).decode()

    @property
    def standard(self) -> bool:
        """True if loaded from a standard program container."""
        return self._standard

    def disasm(self, pc: int) -> Optional[str]:
        """The instruction at pc as assembly text, or None if pc does not start one."""
        buf = ctypes.create_string_buffer(256)
        n = lib.javm_program_disasm(self._handle(), pc, buf, len(buf))
        return buf.value.decode() if n else None

    def close(self) -> None:
        """Release the program; deferred until its last instance is closed. Idempotent."""
        self._closed = True
        self._release()

    def _release(self) -> None:
        if self._closed and self._instances == 0 and self._h is not None:
            lib.javm_program_free(self._h)
            self._h = None

    def __enter__(self) -> "Program":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_h", None) is not None and self._instances == 0:
            lib.javm_program_free(self._h)
            self._h = None

    def __repr__(self) -> str:
        if self._h is None:
            return "<javm.Program closed>"
        kind = "standard" if self._standard else "raw"
        return (f"<javm.Program {kind}, {self.code_size} bytes of code, isa {self.isa}, "
                f"gas model {self.gas_model}>")


class Registers:
    """The 13 registers of an instance as a fixed-length list-like view (reads and writes go to
    the instance): ``vm.registers[7]``, ``vm.registers[7] = 1``, ``list(vm.registers)``,
    slices. Values are unsigned 64-bit; negative ints are stored as two's complement."""

    def __init__(self, vm: "Instance"):
        self._vm = vm

    def __len__(self) -> int:
        return NUM_REGS

    @overload
    def __getitem__(self, i: int) -> int: ...
    @overload
    def __getitem__(self, i: slice) -> List[int]: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(NUM_REGS))]
        k = self._index(i)
        v = ctypes.c_uint64()
        _check(lib.javm_reg_get(self._vm._handle(), k, ctypes.byref(v)))
        return v.value

    def __setitem__(self, i, value) -> None:
        if isinstance(i, slice):
            ks = range(*i.indices(NUM_REGS))
            vals = list(value)
            if len(vals) != len(ks):
                raise ValueError(f"registers: {len(vals)} values for {len(ks)} registers")
            for k, v in zip(ks, vals):
                self[k] = v
            return
        _check(lib.javm_reg_set(self._vm._handle(), self._index(i), _u64(value, "register")))

    @staticmethod
    def _index(i: int) -> int:
        if not isinstance(i, int):
            raise TypeError("registers: index must be an int or a slice")
        k = i + NUM_REGS if i < 0 else i
        if not 0 <= k < NUM_REGS:
            raise IndexError(f"registers: r{i} does not exist (r0..r{NUM_REGS - 1})")
        return k

    def __iter__(self) -> Iterator[int]:
        return iter(self[:])

    def __eq__(self, other) -> bool:
        try:
            return list(self) == list(other)
        except TypeError:
            return NotImplemented

    def __repr__(self) -> str:
        return "Registers(" + repr(list(self)) + ")"


def _u64(value: int, what: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"{what}: {value!r} is not an int")
    if not -(1 << 63) <= value < (1 << 64):
        raise _error(f"{what}: {value} does not fit 64 bits")
    return value & ((1 << 64) - 1)


def _u32(value: int, what: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"{what}: {value!r} is not an int")
    if not 0 <= value < (1 << 32):
        raise _error(f"{what}: {value:#x} is not a 32-bit guest address")
    return value


HostCall = Callable[["Instance", int], Optional[bool]]


class Instance:
    """One running copy of a program: registers, gas, pc, guest memory and counters.

    ``engine`` is an engine name (see :func:`engines`). The gas model is the program's (chosen
    at load); ``gas_model``, if given, must name it (a check: JavmError otherwise). ``mat`` turns on category-#3
    materialization gas with ``cow_cost`` per first write (0 = the library default);
    ``ro_write_faults`` makes writes to read-only pages page faults instead of panics. A raw
    program's instance starts with no memory mapped, registers, gas and pc 0; a standard
    program's is laid out by :meth:`init_standard` (called here with no arguments)."""

    def __init__(self, program: Program, engine: str = "soft", gas_model: Optional[str] = None, *,
                 mat: bool = False, cow_cost: int = 0, ro_write_faults: bool = False):
        self._h: Optional[int] = None
        cfg = _lib.ConfigStruct()
        cfg.size = ctypes.sizeof(cfg)
        e = ctypes.c_int()
        _check(lib.javm_engine_parse(str(engine).encode(), ctypes.byref(e)))
        cfg.engine = e.value
        if gas_model is not None:
            gm = _parse(lib.javm_gas_model_parse, gas_model, "gas_model")
            if gm != lib.javm_program_gas_model(program._handle()):
                raise _error(f"instance: gas model {gas_model} differs from the program's "
                             f"{program.gas_model} (the gas model is chosen at load: "
                             "Program.load(..., gas_model=...))")
            cfg.gas_model = gm
        cfg.mat = 1 if mat else 0
        cfg.cow_cost = _u64(cow_cost, "cow_cost")
        cfg.ro_write_faults = 1 if ro_write_faults else 0
        h = ctypes.c_void_p()
        _check(lib.javm_instance_new(program._handle(), ctypes.byref(cfg), ctypes.byref(h)))
        self._h = h.value
        self._program = program
        program._instances += 1
        self._engine = lib.javm_engine_name(e.value).decode()
        if program.standard:
            self.init_standard()

    def _handle(self) -> int:
        if self._h is None:
            raise _error("instance: used after close()")
        return self._h

    @property
    def program(self) -> Program:
        return self._program

    @property
    def engine(self) -> str:
        return self._engine

    # ---- memory ---------------------------------------------------------------------------
    def map(self, start: int, size: int, access: Access = Access.RW, data: bytes = b"") -> None:
        """Map [start, start + size) (page multiples) with access; data (truncated to size) is
        copied to its start, the rest of newly mapped pages is zero. Remapping a mapped page
        changes its permission and keeps its bytes."""
        buf = bytes(data)
        _check(lib.javm_map(self._handle(), _u32(start, "map"), _u64(size, "map size"),
                            int(Access(access)), buf or None, len(buf)))

    def protect(self, start: int, size: int, access: Access) -> None:
        """Change the permission of mapped pages."""
        _check(lib.javm_protect(self._handle(), _u32(start, "protect"),
                                _u64(size, "protect size"), int(Access(access))))

    def unmap(self, start: int, size: int) -> None:
        """Unmap pages; their contents are discarded."""
        _check(lib.javm_unmap(self._handle(), _u32(start, "unmap"), _u64(size, "unmap size")))

    def access(self, address: int) -> Access:
        """The permission of the page holding address."""
        return Access(lib.javm_page_access(self._handle(), _u32(address, "access")))

    def read(self, address: int, n: int) -> bytes:
        """n bytes of guest memory (ignores read-only protection; every byte must be mapped)."""
        if not isinstance(n, int) or n < 0:
            raise _error(f"read: length {n!r} is not a non-negative int")
        buf = ctypes.create_string_buffer(n)
        _check(lib.javm_mem_read(self._handle(), _u32(address, "read"), buf, n))
        return buf.raw

    def write(self, address: int, data: bytes) -> None:
        """Write bytes into guest memory (read-only pages too; every byte must be mapped)."""
        buf = bytes(data)
        _check(lib.javm_mem_write(self._handle(), _u32(address, "write"), buf, len(buf)))

    # ---- registers, gas, pc ---------------------------------------------------------------
    @property
    def registers(self) -> Registers:
        """The 13 registers, list-like (assign a sequence of 13 ints to set them all)."""
        return Registers(self)

    @registers.setter
    def registers(self, values: Iterable[int]) -> None:
        vals = list(values)
        if len(vals) != NUM_REGS:
            raise ValueError(f"registers: {len(vals)} values, expected {NUM_REGS}")
        Registers(self)[:] = vals

    @property
    def gas(self) -> int:
        """Gas left (signed 64-bit)."""
        return lib.javm_gas_get(self._handle())

    @gas.setter
    def gas(self, value: int) -> None:
        if not isinstance(value, int) or not -(1 << 63) <= value < (1 << 63):
            raise _error(f"gas: {value!r} is not a signed 64-bit int")
        lib.javm_gas_set(self._handle(), value)

    @property
    def pc(self) -> int:
        """The pc the next run starts at; setting it drops a pending resume point."""
        return lib.javm_pc_get(self._handle())

    @pc.setter
    def pc(self, value: int) -> None:
        _check(lib.javm_pc_set(self._handle(), _u32(value, "pc")))

    @property
    def stats(self) -> Stats:
        """Counters accumulated across runs."""
        st = _lib.StatsStruct()
        st.size = ctypes.sizeof(st)
        _check(lib.javm_stats_get(self._handle(), ctypes.byref(st)))
        return Stats(st.instructions, st.first_touch_faults, st.cow_pages, st.ro_units,
                     st.mat_gas)

    # ---- running --------------------------------------------------------------------------
    def run(self, host: Optional[HostCall] = None) -> Exit:
        """Run until an exit and return it.

        With ``host``, host calls are served in a loop: on each HOST_CALL exit
        ``host(instance, call_id)`` is called (it may read and write registers, memory and gas)
        and the guest resumes after the ecalli; the first other exit is returned. The callback
        may return ``False`` to stop and get the HOST_CALL exit back instead. Without ``host``
        a HOST_CALL exit is returned, and the next run() resumes after it."""
        while True:
            ex = _lib.ExitInfoStruct()
            ex.size = ctypes.sizeof(ex)
            _check(lib.javm_run(self._handle(), ctypes.byref(ex)))
            out = Exit(ExitKind(ex.kind), ex.pc, ex.next_pc, ex.arg)
            if out.kind != ExitKind.HOST_CALL or host is None:
                return out
            if host(self, out.arg) is False:
                return out

    def init_standard(self, args: bytes = b"") -> None:
        """Lay a standard program's memory out afresh (read-only data, read-write data, heap,
        stack, the arguments) and set its initial registers and pc 0."""
        data = bytes(args)
        _check(lib.javm_instance_init_standard(self._handle(), _lib.bytes_arg(data), len(data)))

    def reset(self) -> int:
        """Restore every page the guest wrote to its initial bytes, start materialization over,
        and set registers, gas and pc to 0 (mappings stay); returns the pages restored."""
        n = ctypes.c_uint64()
        _check(lib.javm_instance_reset(self._handle(), ctypes.byref(n)))
        return n.value

    # ---- lifetime -------------------------------------------------------------------------
    def close(self) -> None:
        """Free the instance (idempotent); its program may be freed afterwards."""
        if self._h is not None:
            lib.javm_instance_free(self._h)
            self._h = None
            self._program._instances -= 1
            self._program._release()

    def __enter__(self) -> "Instance":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_h", None) is not None:
            self.close()

    def __repr__(self) -> str:
        if self._h is None:
            return "<javm.Instance closed>"
        return f"<javm.Instance {self._engine}, pc={self.pc}, gas={self.gas}>"
