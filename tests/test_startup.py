"""flyer.startup: WeasyPrint's start-up costs, paid once, with the very same results."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys
import textwrap
import types

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


def _weasyprint_ffi() -> object:
    from weasyprint.text.ffi import ffi

    import flyer.render  # noqa: F401  (tunes WeasyPrint's FFI on import)

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
