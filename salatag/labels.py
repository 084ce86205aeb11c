"""The label inventory of the annotation guidelines (../shared/annotation-guidelines.md)."""

SECTORS: tuple[str, ...] = ("trade", "transport", "security", "water", "energy")
SECTOR_INDEX: dict[str, int] = {name: i for i, name in enumerate(SECTORS)}

SOURCES: tuple[str, ...] = ("kazinform", "authored", "kaznerd")


def check_sectors(names: list[str]) -> list[str]:
    """Return the names that are not sector labels (empty when all are known)."""
    return [n for n in names if n not in SECTOR_INDEX]
