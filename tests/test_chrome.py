"""Page-chrome rules on hand-written examples of each kind, and near misses."""

import pytest

from salatag.chrome import chrome_flags, is_chrome_line
from salatag.text import normalize


def _chrome(line: str) -> bool:
    return is_chrome_line(normalize(line).text)


@pytest.mark.parametrize(
    "line",
    [
        "22 Тамыз, 16:51",  # date and time alone
        "16:51",
        "14.03.2025",
        "11:17, 30 Qańtar 2026 | GMT +5",  # Latin-script Kazinform timestamp
        "45 рет",  # view counter
        "көрсетілді",
        "2 пікір",
        "Пікірлер: 0",
        "Оқу уақыты: 3 минут",  # reading time
        "Фото: Ақорда",  # photo credits
        "Сурет: ашық дереккөзден",
        "Foto: Aqorda",
        "Автор: Айгүл Серікова",  # byline
        "Бөлісу:",  # share
        "Facebook Telegram WhatsApp",
        "Abai.kz",  # source tags
        "Egemen.kz",
    ],
)
def test_chrome_lines(line: str) -> None:
    assert _chrome(line), line


@pytest.mark.parametrize(
    "line",
    [
        "Қазақстан мен Қырғызстан су бөлу мәселесін талқылады",
        "2025 жылы екі ел арасындағы тауар айналымы 3,2 млрд долларға жетті.",
        "Фотокөрмеге 45 суретші қатысты.",
        "Автордың айтуынша, жоба 2027 жылы аяқталады.",
        "Танымал ғалым ядролық қауіпсіздік туралы дәріс оқыды.",
        "Kazinform агенттігінің тілшісі хабарлайды.",
    ],
)
def test_story_lines_are_not_chrome(line: str) -> None:
    assert not _chrome(line), line


def test_related_headlines_list_is_chrome_until_the_story_resumes() -> None:
    lines = [
        "Президент Өзбекстанға барады.",
        "Тағы оқыңыз:",
        "Астанада жаңа мектеп ашылды",
        "Ауа райы: ертең жаңбыр жауады",
        "Бұл туралы министрлік хабарлады. Екі тарап келісімге қол қойды.",
    ]
    flags = chrome_flags([normalize(x).text for x in lines])
    assert flags == [False, True, True, True, False]
