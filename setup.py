"""Build: the package pyproject.toml describes, with its hot modules compiled by mypyc when it can.

Why: converting an HL7 v2 message runs a few hundred thousand small Python operations (the
segment maps, the datatype builders, the validator's rule walk); the CPython interpreter loop
itself was a fifth of the instructions. mypyc compiles the same typed source to C extensions: one
message per convert() call took about 0.86 ms instead of 1.22 (bench/bench_hl7v2.py, README
Benchmarks), with the same output byte for byte. The source stays plain Python: without mypyc or
a C compiler, or with MEDBUNDLE_PURE=1 (an editable install whose sources you change), these
modules install as Python and behave the same, only slower. Compiled code checks the annotations
at run time, so these modules are typed truthfully; tests/test_compiled.py checks they still type
check and, where the build compiled them, that the installed package runs them compiled.
"""
from __future__ import annotations

import os
import sys

from setuptools import setup

# The modules where the time of a conversion goes (profiled with cProfile and cachegrind; see
# README Benchmarks), and the modules they call most.
COMPILED = [
    "converter/readers/hl7v2/message.py",
    "converter/readers/hl7v2/framing.py",
    "converter/readers/hl7v2/structure.py",
    "converter/readers/hl7v2/checks.py",
    "converter/readers/hl7v2/mapper.py",
    "converter/readers/hl7v2/context.py",
    "converter/readers/hl7v2/datatypes.py",
    "converter/readers/hl7v2/msh.py",
    "converter/readers/hl7v2/pid.py",
    "converter/readers/hl7v2/nk1.py",
    "converter/readers/hl7v2/pv1.py",
    "converter/readers/hl7v2/orders.py",
    "converter/readers/hl7v2/obx.py",
    "converter/readers/hl7v2/al1.py",
    "converter/readers/hl7v2/dg1.py",
    "converter/readers/hl7v2/pr1.py",
    "converter/readers/hl7v2/in1.py",
    "converter/readers/hl7v2/spm.py",
    "converter/readers/hl7v2/rxa.py",
    "converter/readers/hl7v2/rxo.py",
    "converter/readers/hl7v2/sch.py",
    "converter/readers/hl7v2/txa.py",
    "converter/fhir/datatypes.py",
    "converter/fhir/ids.py",
    "converter/fhir/terminology.py",
    "converter/fhir/language.py",
    "converter/validate/walk.py",
    "converter/validate/terminology.py",
    "converter/validate/ucum.py",
    "converter/validate/references.py",
    "converter/validate/structure.py",
    "converter/validate/validator.py",
    "converter/assemble/bundle.py",
    "converter/assemble/chronology.py",
    "converter/assemble/dedup.py",
]
# As tests/test_compiled.py type-checks them: installed packages are not read (their types are
# Any, so the verdict does not depend on which versions the build environment holds), and the
# other converter modules are read for their types only.
MYPY_OPTIONS = ["--no-site-packages", "--ignore-missing-imports", "--follow-imports=silent"]


def _extensions() -> list:
    if os.environ.get("MEDBUNDLE_PURE") == "1":
        return []
    try:
        from mypyc.build import mypycify

        extensions = mypycify(MYPY_OPTIONS + COMPILED, opt_level="3",
                              group_name="converter_compiled")
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - no mypyc, or a type error: mypyc
        # exits; either way the Python modules serve
        print(f"medbundle: building without compiled modules ({type(exc).__name__}: {exc})",
              file=sys.stderr)
        return []
    for extension in extensions:
        extension.optional = True  # no C compiler: the build goes on, the Python modules serve
    return extensions


setup(ext_modules=_extensions())
