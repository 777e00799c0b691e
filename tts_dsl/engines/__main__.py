"""``python -m tts_dsl.engines``: compile the native engine's interpreter now (numba caches
it once per installation) instead of at the first evaluation that needs it."""

import sys

from .fast import available


def main() -> int:
    reason = available()
    if reason:
        print(f"the native engine is not available here ({reason}): nothing to compile")
        return 0
    from .vm import warm

    print(f"native interpreter ready in {warm():.1f} s (numba's cache; later processes load it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
