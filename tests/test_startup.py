"""flyer.startup: WeasyPrint's start-up costs, paid once, with the very same results."""

from __future__ import annotations

import ctypes.util
import functools
import subprocess
import sys
import textwrap
import types
from typing import Any

import pytest

from flyer import startup

LINUX = sys.platform.startswith("linux")
needs_linker_cache = pytest.mark.skipif(
    not LINUX or not startup._linker_cache(), reason="glibc's ldconfig -p is Linux's")


@needs_linker_cache
def test_a_library_is_found_where_python_finds_it_and_a_windows_name_is_not() -> None:
    python_finds = ctypes.util._findSoname_ldconfig  # type: ignore[attr-defined]
    for name in ("pango-1.0", "harfbuzz", "fontconfig", "c"):
        assert startup._find(name) == python_finds(name), name
        assert startup._find(name) is not None
    assert startup._find("libgobject-2.0-0") is None  # WeasyPrint's Windows name


@needs_linker_cache
def test_a_name_the_cache_lacks_is_looked_for_in_ld_library_path(
        tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "libflyerprobe.so.3").write_bytes(b"")
    monkeypatch.setenv("LD_LIBRARY_PATH", f"/nowhere:{folder}")
    startup._find.cache_clear()
    try:
        assert startup._find("flyerprobe") == "libflyerprobe.so.3"
    finally:
        startup._find.cache_clear()


@needs_linker_cache
def test_importing_weasyprint_through_flyer_never_asks_the_c_compiler() -> None:
    """In a fresh interpreter: CPython's compiler and linker fallbacks are counted, and
    the import must not reach them (they cost ~20 ms a name, 13 names)."""
    script = textwrap.dedent("""
        import ctypes.util, json
        calls = []
        for name in ("_findLib_gcc", "_findLib_ld"):
            original = getattr(ctypes.util, name)
            setattr(ctypes.util, name, lambda n, _o=original, _k=name: (calls.append(_k), _o(n))[1])
        import flyer
        import weasyprint
        print(json.dumps({"calls": calls,
                          "flyer": getattr(ctypes.util.find_library, "_flyer", False)}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    import json

    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {"calls": [], "flyer": True}


def test_weasyprint_imported_without_flyer_keeps_pythons_lookup() -> None:
    script = ("import weasyprint, ctypes.util; "
              "print(getattr(ctypes.util.find_library, '_flyer', False))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


@functools.cache
def _weasyprint_ffi() -> object:
    """cffi's usual FFI of WeasyPrint's declarations (where flyer has no compiled one:
    another system, an unreadable WeasyPrint file), tuned."""
    import cffi

    source = startup._weasyprint_declarations()
    assert source is not None
    ffi = cffi.FFI()
    ffi.cdef(source)
    assert startup.tune_cffi(ffi)
    return ffi


def test_c_types_parsed_at_once_are_the_very_types_cffi_parses() -> None:
    ffi: object = _weasyprint_ffi()
    assert getattr(ffi, "_flyer_tuned", False)
    for cdecl in startup.C_TYPES:
        ours = ffi.typeof(cdecl)  # type: ignore[attr-defined]
        # Spelled with extra spaces: not in cffi's cache, so parsed by cffi itself.
        with ffi._lock:  # type: ignore[attr-defined]
            theirs = ffi._typeof_locked(  # type: ignore[attr-defined]
                cdecl.replace("*", " *").replace("[", " ["))[0]
        assert ours is theirs, cdecl


@pytest.mark.parametrize("cdecl", ["hb_codepoint_t[389]", "unsigned int[7]", "hb_tag_t[1]"])
def test_an_array_of_a_known_type_is_cffis_own_array(cdecl: str) -> None:
    ffi: object = _weasyprint_ffi()
    ours = ffi.typeof(cdecl)  # type: ignore[attr-defined]
    with ffi._lock:  # type: ignore[attr-defined]
        theirs = ffi._typeof_locked(cdecl.replace("[", " ["))[0]  # type: ignore[attr-defined]
    assert ours is theirs
    values = list(range(int(cdecl.split("[")[1].rstrip("]"))))
    array = ffi.new(cdecl, values)  # type: ignore[attr-defined]
    assert list(array) == values


def test_an_ffi_without_cffis_internals_is_left_as_it_was() -> None:
    stranger = types.SimpleNamespace(_typeof=len)
    assert startup.tune_cffi(stranger) is False
    assert stranger._typeof is len


def _fresh_import(cache: object) -> dict[str, object]:
    """`import weasyprint` through flyer in a fresh interpreter, with this cache folder."""
    import json
    import os

    script = textwrap.dedent("""
        import json, sys
        import flyer
        import weasyprint
        from weasyprint.text.ffi import ffi
        print(json.dumps({"ffi": type(ffi).__name__,
                          "pycparser": "pycparser" in sys.modules}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, env={**os.environ, "FLYER_CACHE_DIR": str(cache)})
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 1  # nothing else said (cffi's "generating …")
    answer: dict[str, object] = json.loads(lines[0])
    return answer


@needs_linker_cache
def test_weasyprint_gets_its_compiled_declarations_made_once_then_read_back(
        tmp_path: object) -> None:
    from pathlib import Path

    cache = Path(str(tmp_path))
    first = _fresh_import(cache)
    assert first["ffi"] == "CompiledFFI"
    [kept] = (cache / "cffi").glob("weasyprint-*.py")
    again = _fresh_import(cache)
    assert again == {"ffi": "CompiledFFI", "pycparser": False}  # never parsed again
    kept.write_text("ffi = __import__('os').system('touch ran')", encoding="utf-8")
    # Not cffi's data: never run, and made again.
    assert _fresh_import(cache)["ffi"] == "CompiledFFI"
    assert not (cache / "ran").exists() and not Path("ran").exists()
    assert "_cffi_backend.FFI(" in kept.read_text(encoding="utf-8")


def _symbol(ffi: Any, library: Any, name: str) -> object:
    """A constant's value, a function's C type, or None where the library lacks it."""
    try:
        value = getattr(library, name)
    except (AttributeError, __import__("cffi").FFIError, getattr(ffi, "error", OSError)):
        return None
    return value if isinstance(value, int) else _shape(ffi, ffi.typeof(value))


def _shape(ffi: Any, ctype: Any) -> object:
    """A C type as what it is, not how it is spelled (`FcConfig *` is `struct _FcConfig *`
    once compiled)."""
    if ctype.kind == "function":
        return ("function", tuple(_shape(ffi, a) for a in ctype.args),
                _shape(ffi, ctype.result), ctype.ellipsis)
    if ctype.kind in ("pointer", "array"):
        return (ctype.kind, _shape(ffi, ctype.item), getattr(ctype, "length", None))
    if ctype.kind in ("struct", "union"):
        try:
            return (ctype.kind, ffi.sizeof(ctype), [f for f, _ in ctype.fields or []])
        except (ValueError, TypeError, getattr(ffi, "error", ValueError)):  # opaque
            return (ctype.kind, "opaque")
    if ctype.kind == "enum":
        return (ctype.kind, sorted(ctype.elements.items()))
    return (ctype.kind, ctype.cname)


@needs_linker_cache
def test_the_compiled_declarations_are_the_ones_cffi_parses() -> None:
    compiled = startup._compiled_ffi(
        startup._weasyprint_declarations() or "",
        startup._compiled(startup._weasyprint_declarations() or "", __import__("cffi").__version__)
        or ((), {}))
    usual: object = _weasyprint_ffi()
    for soname in ("libgobject-2.0.so.0", "libpango-1.0.so.0", "libharfbuzz.so.0",
                   "libfontconfig.so.1", "libpangoft2-1.0.so.0"):
        ours = compiled.dlopen(soname)
        theirs = usual.dlopen(soname)  # type: ignore[attr-defined]
        names = dir(ours)
        assert names == dir(theirs) and len(names) > 100, soname  # every declaration
        found = 0
        for name in names:
            mine, other = _symbol(compiled, ours, name), _symbol(usual, theirs, name)
            assert mine == other, (soname, name)
            found += mine is not None
        assert found > 10, soname  # this library's own functions
    for struct in ("PangoRectangle", "PangoItem", "PangoGlyphInfo", "GSList"):
        assert (_shape(compiled, compiled.typeof(struct))
                == _shape(usual, usual.typeof(struct))), struct  # type: ignore[attr-defined]
