"""Everything that imports PySide6. Importing this package first applies a guard for a Qt binding bug."""

import sys

if sys.version_info < (3, 12):
    # PySide6/shiboken6 6.12.0 on Python 3.11 drops a reference to None on every void Qt call and every
    # Python slot call (and to True/False in some paint paths); at zero the interpreter aborts with
    # "Fatal Python error: none_dealloc" (a 10,000-call setText loop is enough). Python 3.12 made these
    # objects immortal with a huge reference count; we give them one here. Remove once PySide6 is fixed.
    import ctypes

    for _obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(_obj)).value += 1 << 40
    del _obj
