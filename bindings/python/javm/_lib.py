"""ctypes declarations of libjavm's public C API (include/javm.h), and nothing else.

The library is found, in this order: the path in the environment variable ``JAVM_LIBRARY``;
``libjavm.so`` installed by ``make install`` (through the dynamic loader's search path and
``ctypes.util.find_library``). The struct layouts below mirror javm.h; every caller-allocated
struct starts with its ``size`` field, which the binding sets to the size it declares, so a newer
library keeps working with this binding (javm.h, "ABI rules").
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (POINTER, c_char_p, c_int, c_int64, c_size_t, c_uint, c_uint8, c_uint32,
                    c_uint64, c_void_p)

# The first release with the size-prefixed structs this binding declares (javm.h: 0.2.0).
MIN_VERSION_NUMBER = 2000
NUM_REGS = 13


class ConfigStruct(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("engine", c_int), ("gas_model", c_int), ("mat", c_int),
                ("cow_cost", c_uint64), ("ro_write_faults", c_int)]


class LoadOptionsStruct(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("isa", c_int), ("gas_model", c_int)]


class ExitInfoStruct(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("kind", c_int), ("pc", c_uint32), ("next_pc", c_uint32),
                ("arg", c_uint64)]


class StatsStruct(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("instructions", c_uint64),
                ("first_touch_faults", c_uint64), ("cow_pages", c_uint64),
                ("ro_units", c_uint64), ("mat_gas", c_uint64)]


def _load() -> ctypes.CDLL:
    tried = []
    env = os.environ.get("JAVM_LIBRARY")
    names = [env] if env else []
    if not env:
        found = ctypes.util.find_library("javm")
        names += ["libjavm.so"] + ([found] if found else [])
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append(f"{name}: {e}")
    raise ImportError("javm: cannot load libjavm (set JAVM_LIBRARY to the path of libjavm.so, "
                      "or run `make install`): " + "; ".join(tried))


lib = _load()

_P = c_void_p  # opaque handles: javm_program *, javm_instance *, javm_image *
_SIGNATURES = {
    "javm_version": (c_char_p, []),
    "javm_version_number": (c_int, []),
    "javm_status_str": (c_char_p, [c_int]),
    "javm_last_error": (c_char_p, []),
    "javm_exit_str": (c_char_p, [c_int]),
    "javm_engine_parse": (c_int, [c_char_p, POINTER(c_int)]),
    "javm_engine_name": (c_char_p, [c_int]),
    "javm_engine_available": (c_int, [c_int]),
    "javm_isa_parse": (c_int, [c_char_p, POINTER(c_int)]),
    "javm_isa_name": (c_char_p, [c_int]),
    "javm_gas_model_parse": (c_int, [c_char_p, POINTER(c_int)]),
    "javm_gas_model_name": (c_char_p, [c_int]),
    "javm_program_load_ex": (c_int, [POINTER(c_uint8), c_size_t, POINTER(LoadOptionsStruct),
                                     POINTER(_P)]),
    "javm_program_load_standard_ex": (c_int, [POINTER(c_uint8), c_size_t,
                                              POINTER(LoadOptionsStruct), POINTER(_P)]),
    "javm_program_isa": (c_int, [_P]),
    "javm_program_gas_model": (c_int, [_P]),
    "javm_program_free": (None, [_P]),
    "javm_program_code_size": (c_uint32, [_P]),
    "javm_program_disasm": (c_size_t, [_P, c_uint32, ctypes.c_char_p, c_size_t]),
    "javm_instance_new": (c_int, [_P, POINTER(ConfigStruct), POINTER(_P)]),
    "javm_instance_free": (None, [_P]),
    "javm_instance_init_standard": (c_int, [_P, POINTER(c_uint8), c_size_t]),
    "javm_instance_reset": (c_int, [_P, POINTER(c_uint64)]),
    "javm_map": (c_int, [_P, c_uint32, c_uint64, c_int, c_void_p, c_size_t]),
    "javm_unmap": (c_int, [_P, c_uint32, c_uint64]),
    "javm_protect": (c_int, [_P, c_uint32, c_uint64, c_int]),
    "javm_page_access": (c_int, [_P, c_uint32]),
    "javm_mem_read": (c_int, [_P, c_uint32, c_void_p, c_size_t]),
    "javm_mem_write": (c_int, [_P, c_uint32, c_void_p, c_size_t]),
    "javm_reg_get": (c_int, [_P, c_uint, POINTER(c_uint64)]),
    "javm_reg_set": (c_int, [_P, c_uint, c_uint64]),
    "javm_gas_get": (c_int64, [_P]),
    "javm_gas_set": (None, [_P, c_int64]),
    "javm_pc_get": (c_uint32, [_P]),
    "javm_pc_set": (c_int, [_P, c_uint32]),
    "javm_run": (c_int, [_P, POINTER(ExitInfoStruct)]),
    "javm_stats_get": (c_int, [_P, POINTER(StatsStruct)]),
}
for _name, (_res, _args) in _SIGNATURES.items():
    try:
        _fn = getattr(lib, _name)
    except AttributeError:
        raise ImportError(f"javm: {lib._name} has no {_name} (an older libjavm than this "
                          "binding needs)") from None
    _fn.restype = _res
    _fn.argtypes = _args

if lib.javm_version_number() < MIN_VERSION_NUMBER:
    raise ImportError(f"javm: libjavm {lib.javm_version().decode()} is older than this binding "
                      f"needs (0.{MIN_VERSION_NUMBER // 1000}.0 or later)")


def bytes_arg(data: bytes) -> "ctypes.Array[c_uint8]":
    """A C copy of data as uint8_t[] (the API copies what it keeps)."""
    return (c_uint8 * len(data)).from_buffer_copy(data)
