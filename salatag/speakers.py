"""Who said a quote: the name the attribution gives, or the person a pronoun or an
interview lead points to.

The guidelines want the whole name phrase the attribution names (`Қасым-Жомарт
Тоқаев`, `Еуропалық комиссияның өкілі`), after the quote (`…, – деді X`) or before it
(`X былай деді: «…»`), on the same or the next line; a person's name alone when an
office comes before it (NOTES Q15), the office when no name is given (Q12); a pronoun
resolved to the person last named (Q7); `null` only when nothing names the speaker.
"""

from __future__ import annotations

import re
from typing import Any

from salatag.quote_forms import (
    ATTRIBUTION_AFTER,
    CAPITALISED,
    DASH,
    LEAD_IN,
    NAME,
    NOT_SPEAKER,
    PRONOUNS,
    UPPER,
    Span,
    line_bounds,
)

# `Е.Рыбакина` is one word; a full stop after a word is not part of it
_WORDS = re.compile(r"\w(?:[\w.-]*\w)?")
# where an attribution's name phrase ends; a full stop after an initial (`Т. Әбдіров`,
# `Е.Рахмон`) does not end it
_STOP = re.compile(r"[;:!?()\n]|(?<!\b\w)\.|\s[–—-]\s")
_GENITIVE = re.compile(r"(?:ның|нің|дың|дің|тың|тің)$")
_POSSESSIVE = re.compile(r"(?:сы|сі|ы|і)$")
_FROM = re.compile(r"(?<=\w\w|\w-)(?:дан|ден|тан|тен|нан|нен)$")
_IN = re.compile(r"(?<=\w\w|\w-)(?:нда|нде|да|де|та|те)$")
_TO = re.compile(r"(?<=\w\w\w|\w\w-)(?:ға|ге|қа|ке)$")
_NOT_HEAD = re.compile(
    r"^(?:дүйсенбі|сейсенбі|сәрсенбі|бейсенбі|жексенбі|күні|кеші|таңы|жылы|бірі)$"
)
# role nouns that stand before a name as titles (`Президенті Масуд Пезешкиан`)
_ROLE = re.compile(
    r"(?:президенті|төрағасы|министрі|басшысы|өкілі|спикері|әкімі|хатшысы|директоры|"
    r"орынбасары|елшісі|депутаты|бастығы|жетекшісі|сарапшысы|профессоры|тұрғыны|авторы|"
    r"кураторы|режиссері|кеңесшісі|ректоры|бапкері|қызметкері|төрайымы|әмірі|королі)$"
)
# a common noun with a possessive and case ending: the capitalised words before it name it
_OF_NOUN = re.compile(r"^[^\W\d_]{3,}(?:ына|іне|сына|сіне|ын|ін|сын|сін|ында|інде)$")
# places spelt like surnames (`Украина`, `Киев`): never a person's name
_SURNAME_LIKE_PLACES = (
    "украина|аргентина|палестина|босния|киев|кишинев|пекин|берлин|харбин|харьков|ростов|львов|"
    "саратов|ереван|дублин|турин|бахрейн"
)
_SURNAME = re.compile(
    r"^(?!(?:" + _SURNAME_LIKE_PLACES + r")$)\w[\w.-]*?(?<=\w\w)"
    r"(?:ов|ев|ова|ева|ин|ина|ұлы|қызы|ский|цкий|ская|ян|швили|енко|ович|евич|чук)$"
)
_DOCUMENT = re.compile(
    r"^(?:хабарлама|ақпарат|мәлімдеме|жауаб|хат|сайт|пост|жолдау|декларация|коммюнике)"
)
# a body's head noun, named with capitals before it (`БАӘ Сыртқы істер министрлігі`)
_BODY = re.compile(
    r"(?:министрлігі|комитеті|департаменті|агенттігі|қызметі|басқармасы|әкімдігі|"
    r"палатасы|кеңсесі|хатшылығы|штабы|ұйымы)$"
)
_PARTICIPLE = re.compile(r"(?<=\w\w)(?:ған|ген|қан|кен)$")  # `Келіссөзді ашқан` министр
_LOCATED = re.compile(r"(?<=\w\w)(?:дағы|дегі|тағы|тегі)$")  # `Кавказдағы`: of a place
_CASED = re.compile(r"(?<=\w\w)(?:нда|нде|да|де|та|те|ға|ге|қа|ке|дан|ден|тан|тен|нан|нен)$")
_NAME_PREFIX = re.compile(r"^(?:әл|ал|аль|эль|ибн|бин|де|ван|фон)-" + UPPER)  # `әл-Хаммади`
_PARTICLES = {"фон", "дер", "ван", "де", "ла", "дель", "дел", "ибн", "бин", "бен", "аль", "эль"}
_PARTICLES |= {"әл", "ал", "да", "ди"}
# `де`/`да` is also Kazakh "too": `Ляйен де Қазақстанмен` goes on past the name
_TOO = {"де", "да"}
_DECLINED = re.compile(
    r"(?<=\w\w)(?:мен|бен|пен|ға|ге|қа|ке|ның|нің|дың|дің|тың|тің|дан|ден|нан|нен|тан|тен|ны|ні|ды|ді)$"
)
_TITLES = {"ханзада", "шейх", "принц", "король", "сэр", "лорд", "профессор", "академик", "доктор"}

# a medium and its reporter (`Kazinform тілшісіне`): never part of a speaker's name
_OUTLET = re.compile(r"\S+\s+тілші", re.IGNORECASE)


def _in_name(word: list[str], i: int) -> bool:
    """Whether word i goes on a name: capitalised, `әл-Сауд`, or a particle before a
    capitalised word (`Жан-Кристоф де Ламот`, `Фейсал бин Фархан`)."""
    w = word[i]
    if w[:1].isupper() or _NAME_PREFIX.match(w):
        return True
    nxt = word[i + 1] if i + 1 < len(word) else ""
    if w.lower() in _TOO and _DECLINED.search(nxt.lower()):
        return False
    return w.lower() in _PARTICLES and (nxt[:1].isupper() or nxt.lower() in _PARTICLES)


def _place(text: str, word: str) -> bool:
    """`Астанаға` is a place in a case form when the text also writes `Астана`."""
    ending = _IN.search(word) or _TO.search(word) or _FROM.search(word)
    stem = word[: -len(ending.group())] if ending else word
    return re.search(r"(?<![\w-])" + re.escape(stem) + r"(?![\w-])", text) is not None


def _capital_run(text: str, word: list[str]) -> list[int]:
    """Indices of the first run of two or more capitalised words that can name a person.

    A case ending on a capitalised word (`Астанада`, `Ресейге`) usually marks a place
    before the name, but names end in those letters too (`Аида`, `Серхио Игита`): such a
    word joins a run that has begun and has no surname yet when the text uses it again
    unchanged (a place is declined: `Бакуде`, `Баку`); a short one, or one before a
    surname (`Мереке Құлкенов`) whose stem the text never writes alone, opens a run.
    Particles (`фон дер`) stay inside a run."""
    run: list[int] = []
    for i, w in enumerate(word):
        low = w.lower()
        nxt = word[i + 1] if i + 1 < len(word) else ""
        cased = bool(_GENITIVE.search(low) or _IN.search(low) or _TO.search(low))
        if cased and w[:1].isupper() and not _GENITIVE.search(low):
            named = any(_SURNAME.search(word[j].lower()) for j in run)
            again = len(re.findall(r"(?<!\w)" + re.escape(w) + r"(?!\w)", text)) > 1
            first_name = _SURNAME.search(nxt.lower()) is not None and not _place(text, w)
            cased = not (
                (run and not named and again) or (len(w) <= 4 and nxt[:1].isupper()) or first_name
            )
        capital = w[:1].isupper() and not cased
        if capital and not (_ROLE.search(low) and len(run) == 0 and nxt):
            run.append(i)
            continue
        if run and low in _PARTICLES and _in_name(word, i):
            run.append(i)
            continue
        if run and _ROLE.search(low) and not nxt[:1].isupper():
            return [*run, i]  # `Иран СІМ басшысы`: a body's office, no name follows
        if len(run) >= 2 and (not _GENITIVE.search(low) or low == "өзінің"):
            break  # a run before a genitive is a modifier (`Иран Ислам Республикасының`)
        if len(run) >= 2 and w.islower() and any(_SURNAME.search(word[j].lower()) for j in run):
            break  # `Сәуле Бекмұратова романның`: a person, then the object
        run = []
    return run if len(run) >= 2 else []


def _known_prefix(text: str, start: int, word: list[str], run: list[int]) -> list[int]:
    """The part of a run the article has named someone by before (`Трамп` of `Трамп
    Truth Social`, after `Дональд Трамп`): a name ends where earlier mentions end."""
    before = text[:start]
    for k in range(len(run), 0, -1):
        phrase = r"\s+".join(re.escape(word[j]) for j in run[:k]) + r"\w{0,5}(?!\w)"
        if k == 1:  # one word: only as the surname of a fuller name (`Дональд Трамп`)
            phrase = CAPITALISED + r"\s+" + phrase
        if re.search(r"(?<!\w)" + phrase, before):
            return run[:k]
    return run


def _office(text: str, word: list[str]) -> tuple[int, int] | None:
    """An office named in several words, some capitalised, then its holder's name:
    `Қазақстан Сыртқы істер министрінің орынбасары Марат Қожаев` gives the name (Q15),
    `Армения Сыртқы істер министрі` with no name the whole office (Q12). The capitals
    inside an office would otherwise read as a name (`Армения Сыртқы`)."""
    role = next(
        (
            i
            for i, w in enumerate(word[:12])
            if i > 0 and w[:1].islower() and (_ROLE.search(w) or _BODY.search(w))
        ),
        None,
    )
    if role is None or not any(w[:1].isupper() for w in word[:role]):
        return None
    if any(_SURNAME.search(w.lower()) and w[:1].isupper() for w in word[:role]):
        return None  # `Нұрлан Ахметов … министрі`: the name comes first
    start = 1 + max((j for j in range(role) if _PARTICIPLE.search(word[j].lower())), default=-1)
    if start + 1 < role and _IN.search(word[start].lower()) and word[start + 1][:1].isupper():
        start += 1  # `Үндеуде Мемлекет басшысы`: the setting is not the office
    while role + 1 < len(word) and word[role + 1][:1].islower() and _ROLE.search(word[role + 1]):
        role += 1
    if role + 2 < len(word) and word[role + 1] in _TITLES and word[role + 2][:1].isupper():
        role += 1  # `министрі ханзада Фейсал бин Фархан`: a title is no part of the name
    name = role + 1
    while name < len(word) and _in_name(word, name):
        name += 1
    while name > role + 2 and len(word[name - 1]) == 1:
        name -= 1  # `Урсула фон дер Ляйен X желісінде`: the network, not an initial
    if name > role + 1 and _LOCATED.search(word[name - 1]):
        name = role + 1  # `министрі Оңтүстік Кавказдағы бейбітшілік`: a place, no name
    surname = next((j for j in range(role + 2, name) if _SURNAME.search(word[j].lower())), None)
    if surname is not None and name - surname > 1 and word[surname + 1] not in _PARTICLES:
        name = surname + 1  # `Роман Василенко Астана мен …`: the name ends at the surname
    while name - role > 2 and _CASED.search(word[name - 1]):
        named = any(_SURNAME.search(w.lower()) for w in word[role + 1 : name - 1])
        particle = any(w in _PARTICLES for w in word[role + 1 : name - 1])  # `фон Хальден`
        if particle or not (named or name - role > 3 or _place(text, word[name - 1])):
            break  # `Кэндзи Ямада`, `Антониу Коста`: a surname that ends like a locative
        name -= 1  # `Марат Қожаев Астанада`, `Мұрат Нұртілеу Бакуде`: a place after a name
    if name == role + 1:
        later = any(w[:1].isupper() and _SURNAME.search(w.lower()) for w in word[name:])
        return None if later else (start, role)  # `… авторы, … жаттықтырушысы Серәлі Құсайынов`
    surname = any(_SURNAME.search(w.lower()) for w in word[role + 1 : name])
    after = word[name].lower() if name < len(word) else ""
    if not surname and _OF_NOUN.search(after):
        return start, role  # `Ақ үй басшысы Truth Social желісінде`: the office, not the medium
    return role + 1, name - 1


def name_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Where, inside text[start:end], the attribution names the speaker (view offsets).

    A personal name alone when one is given: the first run of two or more capitalised
    words, titles before it and modifiers in the genitive dropped (NOTES Q15); else
    the role noun phrase up to its head noun (`Үкімет басшысы`, `министр`, Q12); a
    body in a case form in the nominative (`хабарламада` -> `хабарлама`), an
    organisation before a document (`министрлігінің хабарламасында` -> `министрлігі`)."""
    stop = _STOP.search(text, start, end)
    end = stop.start() if stop else end
    outlet = _OUTLET.search(text, start, end)
    end = outlet.start() if outlet else end  # `… Мартен де Граф Kazinform тілшісіне`
    words = [(m.start(), m.end()) for m in _WORDS.finditer(text, start, end)]
    if not words:
        return None
    word = [text[a:b] for a, b in words]
    office = _office(text, word)
    if office is not None:
        first, last = office
        return words[first][0], words[last][1]
    run = _capital_run(text, word)
    if run and _ROLE.search(word[run[-1]].lower()) and not word[run[-1]][:1].isupper():
        return words[run[0]][0], words[run[-1]][1]
    while len(run) > 2 and len(word[run[-1]]) == 1:
        run.pop()  # `Урсула фон дер Ляйен X желісінде`: the network, not an initial
    if run:
        titles = [i for i in run[:-1] if _ROLE.search(word[i].lower()) and word[i][:1].isupper()]
        if titles and titles[-1] + 1 in run:
            run = [i for i in run if i > titles[-1]]  # `Түркия Президенті Реджеп Тайып Ердоған`
        surnames = [i for i in run if _SURNAME.search(word[i].lower())]
        if len(run) > 2 and surnames and surnames[0] > run[0]:
            run = [surnames[0] - 1, surnames[0]]  # `Астанада Қасым-Жомарт Тоқаев Өзбекстан`
        after = word[run[-1] + 1].lower() if run[-1] + 1 < len(word) else ""
        if len(run) > 2 and _OF_NOUN.search(after):
            run = run[:2]  # `Карлос Адамес The Ring журналына`: the rest names the magazine
        titled = run[0] > 0 and _ROLE.search(word[run[0] - 1].lower()) is not None
        if titled and not surnames and _OF_NOUN.search(after):
            # `Ақ үй басшысы Truth Social желісінде`: the office, not the medium
            return _role_phrase(text, start, words[: run[0]], word[: run[0]])
        if not surnames:
            run = _known_prefix(text, start, word, run)
        return words[run[0]][0], words[run[-1]][1]
    return _role_phrase(text, start, words, word)


def _role_phrase(
    text: str, start: int, words: list[tuple[int, int]], word: list[str]
) -> tuple[int, int] | None:
    """A speaker named by office or body rather than by name (Q12)."""
    if len(word) > 1 and word[0][:1].isupper() and not word[1][:1].isupper():
        surname = r"(?<![\w«])(" + CAPITALISED + r")\s+" + re.escape(word[0]) + r"(?!\w)"
        given = [m.group(1) for m in re.finditer(surname, text[:start])]
        named = any(not _GENITIVE.search(g) for g in given) and not _GENITIVE.search(word[0])
        if named and not _ROLE.search(word[1].lower()):
            return words[0]  # `Мамдани жергілікті БАҚ-қа`: a surname given before
    document = next((i for i, w in enumerate(word[:10]) if _DOCUMENT.match(w.lower())), None)
    if document is not None:
        j = document - 1  # `… баспасөз қызметі таратқан хабарламада`: the participle's subject
        while j > 0 and re.search(r"(?:ған|ген|қан|кен)$|^(?:бізге|оларға)$", word[j].lower()):
            j -= 1
        ending = _GENITIVE.search(word[j].lower()) if j >= 0 else None
        if j >= 0 and _POSTPOSITION.fullmatch(word[j].lower()):
            return _nominative(text, words[document])  # `форум қорытындысы бойынша … хабарламада`
        stem = _nominative(text, words[document])
        owned = _POSSESSIVE.search(text[stem[0] : stem[1]].lower())  # `хабарламасында`: whose
        modifiers = all(w.islower() and not _GENITIVE.search(w) for w in word[:document])
        if j == document - 1 and 0 < document <= 2 and not owned and modifiers:
            return words[0][0], stem[1]  # `қорытынды декларацияда`: a modifier, no owner
        owner = j > 0 and bool(ending or _POSSESSIVE.search(word[j].lower()))
        if owner or (j == 0 and document > 1):
            # `… қызметі таратқан хабарламада`, `министрлік таратқан ақпаратта` (Q15)
            return words[0][0], words[j][1] - (len(ending.group()) if ending else 0)
        genitives = [i for i in range(document) if _GENITIVE.search(word[i].lower())]
        if genitives:  # `ведомствоның … берген жауабында`
            g = genitives[-1]
            return words[0][0], words[g][1] - len(_GENITIVE.search(word[g].lower()).group())  # type: ignore[union-attr]
    last = 0
    for i, w in enumerate(word[:4]):
        low = w.lower()
        if i > 0 and w.islower() and _POSSESSIVE.search(low) and not _NOT_HEAD.match(low):
            last = i  # `блогер Instagram-дағы`: a capitalised word is not the head
            break
    modifier = _ADJECTIVE.search(word[0]) or _TO.search(word[0])  # `ирандық`, `жобаға`
    head = word[1] if len(word) > 1 else ""
    nominative = head.islower() and not (_OBLIQUE.search(head) or _GENITIVE.search(head))
    if last == 0 and word[0].islower() and modifier and nominative:
        last = 1  # `ирандық басылым`, `жобаға қатысушылар`
    a, b = words[0][0], words[last][1]
    tail = word[last]
    cut = (_FROM.search(tail) or _IN.search(tail)) if tail.islower() else _FROM.search(tail)
    if cut is not None and not tail.islower() and tail[: -len(cut.group())][-1:] not in _VOWELS:
        cut = None  # `Ақордадан` is a case form, `Дастан` a name
    if cut is not None and last == 0:
        b -= len(cut.group())
    return a, b


def _nominative(text: str, word: tuple[int, int]) -> tuple[int, int]:
    """A document's word without the locative it stands in (`декларацияда`)."""
    a, b = word
    cut = _IN.search(text[a:b].lower())
    return a, b - (len(cut.group()) if cut else 0)


def attribution_speaker(text: str, span: Span) -> tuple[int, int] | None:
    """Where the attribution names the speaker: after the quote (`…, – деді X`, the
    name possibly on the next line), else in a lead-in before it (`X былай деді: «…»`,
    `X: «…»`, a lead-in line ending in a colon)."""
    line_end = line_bounds(text, max(span.end - 1, span.start))[1]
    m = ATTRIBUTION_AFTER.match(text, span.end, line_end)
    if m is None and line_end < len(text) and not text[span.end : line_end].strip(' .,»”"!?…'):
        lead = re.compile(r"\s*" + DASH + r"?\s*").match(text, line_end + 1)
        m = ATTRIBUTION_AFTER.match(text, lead.end() if lead else line_end + 1)
    if m is not None:
        rest_start, rest_end = m.span("rest")
        if not text[rest_start:rest_end].strip() and rest_end < len(text):
            rest_start, rest_end = rest_end + 1, line_bounds(text, rest_end + 1)[1]
        first = re.match(r"\s*(?P<w>\w+)(?!\w)", text[rest_start:rest_end])
        if first and first.group("w").lower() in PRONOUNS:  # `деді ол … Weekly басылымына`
            return rest_start + first.start("w"), rest_start + first.end("w")
        found = name_span(text, rest_start, rest_end)
        named = text[found[0] : found[1]] if found else ""
        head = next(iter(re.findall(r"[\w-]+", named)), "")  # `уәде берді` is no speaker
        short = len(head) <= 2 and (head.istitle() or head.isupper())  # `Ақ үй`, `ҚР`
        adjective = re.search(r"(?:лікті|лықты)$", head) is not None  # `жергілікті тұрғындар`
        document = _DOCUMENT.match(named.split()[-1].lower()) if named else None
        particle = NOT_SPEAKER.match(head) and not (short or adjective or document)
        if found and (is_pronoun(named) or not particle):
            return found
    if m is not None and re.search(r"(?:міз|мін|дік|дім)$", m.group("verb")):
        return None  # `«…», – дейміз`: we, the reporter's audience; nobody is named (Q7)
    inline = m is not None and m.group("verb").startswith("де")  # `«…» деп`, `«…» дейді`
    return _lead_in_speaker(text, span) or (_subject_before(text, span) if inline else None)


def _subject_before(text: str, span: Span) -> tuple[int, int] | None:
    """The speaker an inline quote's sentence names right before it: `АҚШ президенті
    «…» деп мәлімдеді`, `Қазақ «…» дейді`. Only a name, an office (`… президенті`)
    or a bare noun in the nominative counts; anything else is left to the reader."""
    before = text[: span.start]
    opening = before.rstrip(' «“"')
    if not before.rstrip().endswith(("«", "“", '"')):
        return None
    sentence = max(opening.rfind(c) for c in ".!?\n:;") + 1
    words = list(_WORDS.finditer(text, sentence, len(opening)))
    if not words or words[-1].end() != len(opening):
        return None
    last = words[-1].group()
    low = last.lower()
    if _ROLE.search(low) or (last[:1].isupper() and not _OBLIQUE.search(low)):
        first = len(words) - 1
        while first > 0 and words[first - 1].group()[:1].isupper() and first > len(words) - 4:
            first -= 1
        return words[first].start(), words[-1].end()
    if len(words) <= 2 and not (_OBLIQUE.search(low) or _GENITIVE.search(low) or _IN.search(low)):
        return words[-1].start(), words[-1].end()
    return None


# the head of a subject in the nominative: a plural or a possessive (`агенттіктері`)
_SUBJECT_HEAD = re.compile(r"(?:(?:лар|лер|дар|дер|тар|тер)[ыі]?|сы|сі)$")
_OPENERS = {"мәселен", "мысалы", "ал", "сондай-ақ", "алайда", "бірақ", "дегенмен", "және"}


def reported_speaker(text: str, span: Span) -> tuple[int, int] | None:
    """Who a reported phrase in guillemets is ascribed to: the name right before it
    (`Елбасымыз «…» деп`), the owner of the words (`Трамптың … айтқан «…» деген
    сөзіне`), or the subject its sentence opens with (`CNN, AP … агенттіктері …
    «…» деп атады`, `Әлеуметтік желіде кейбір сарапшылар «…» деген пікірді`)."""
    found = _subject_before(text, span)
    if found is not None:
        return found
    opening = text[: span.start].rstrip(' «“"')
    sentence = max(opening.rfind(c) for c in ".!?\n;:") + 1
    clauses = list(re.finditer(r"\w(?:са|се),\s", opening[sentence:]))  # `… деп сипаттаса, …`
    sentence += clauses[-1].end() if clauses else 0
    words = list(_WORDS.finditer(text, sentence, len(opening)))
    while words and words[0].group().lower() in _OPENERS:
        words.pop(0)
    if not words:
        return None
    if words[0].group().lower() in PRONOUNS:
        return words[0].start(), words[0].end()  # resolved like `деді ол` (Q7)
    if re.match(r"[»”\"\s,]*деген\s+сөз", text[span.end : span.end + 40]):
        for w in words:
            ending = _GENITIVE.search(w.group())
            if w.group()[:1].isupper() and ending:
                return w.start(), w.end() - len(ending.group())
    first = 0
    for i, w in enumerate(words[:4]):  # `Әлеуметтік желіде …`: an adverbial opens it
        if w.group().islower() and _IN.search(w.group()):
            first = i + 1
            break
    for w in words[first : first + 12]:
        low = w.group().lower()
        if _SUBJECT_HEAD.search(low) or _ROLE.search(low):
            named = name_span(text, words[first].start(), len(opening))
            tail = text[named[0] : named[1]].split()[-1].lower() if named else ""
            plain = not (_GENITIVE.search(tail) or _CASED.search(tail))
            if named and plain and _NAME_START.match(text, named[0]) and named[0] > w.end():
                return named  # `… министрінің орынбасары Роман Василенко … «…» деп атады`
            return words[first].start(), w.end()
        if _OBLIQUE.search(low):
            return None
    return None


# a name with its particles (`Тамим бин Хамад Әл Тани`, `Урсула фон дер Ляйен`)
_FULL_NAME = re.compile(
    CAPITALISED
    + r"(?:\s+(?:(?:"
    + "|".join(sorted(_PARTICLES - _TOO))
    + r"|(?:де|да)(?!\s+\w+(?:мен|бен|пен|ға|ге|қа|ке|ның|нің|дың|дің|тың|тің)(?!\w))"
    + r")\s+)*(?:(?:әл|ал|аль|эль|ибн|бин)-)?"
    + CAPITALISED
    + ")+"
)
_NAME_START = re.compile(CAPITALISED + r"\s+" + CAPITALISED)
_POSTPOSITION = re.compile(r"(?<!\w)(?:қатысты|туралы|бойынша|жөнінде|байланысты)(?!\w)")
_ADJECTIVE = re.compile(r"(?<=\w\w)(?:лық|лік|дық|дік|тық|тік|ғы|гі|қы|кі|лікті|лықты)$")


def _lead_in_speaker(text: str, span: Span) -> tuple[int, int] | None:
    line_start = line_bounds(text, span.start)[0]
    before = text[line_start : span.start]
    if not before.strip(' –—-«“"') and line_start >= 2:
        line_start = line_bounds(text, line_start - 2)[0]
        before = text[line_start : span.start].rstrip(' –—-«“"\n')
    lead = LEAD_IN.search(before)
    if lead and lead.group("who").strip():
        who_start = line_start + lead.start("who")
        who_end = line_start + lead.end("who")
        verb = re.search(r"(?<!\w)(?:былай|бүй|деп|атап)(?!\w)", text[who_start:who_end])
        if verb:
            who_end = who_start + verb.start()
        while who_end > who_start and text[who_end - 1] in " ,":
            who_end -= 1  # `… сөз сөйлеп, былай деді`: the comma closes the converb
        comma = text.rfind(",", who_start, who_end)
        who_start = comma + 1 if comma >= 0 else who_start
        about = list(_POSTPOSITION.finditer(text, who_start, who_end))
        if about and text[about[-1].end() : who_end].strip():
            who_start = about[-1].end()  # `Инвестицияға қатысты Трамп:`
        words = list(_WORDS.finditer(text, who_start, who_end))
        while words and words[-1].group().lower() in {"болса", "болсақ", "де", "да"}:
            words.pop()  # `Жергілікті билік болса: «…»`
        while words and words[0].group().lower() in {"бүкіл", "барлық", "ал", "және", "енді"}:
            words.pop(0)
        plain = [w.group().lower() for w in words]
        nominative = bool(plain) and not (_OBLIQUE.search(plain[-1]) or _IN.search(plain[-1]))
        unnamed = not any(w.group()[:1].isupper() for w in words[1:])
        if 0 < len(words) <= 3 and nominative and unnamed:
            return words[0].start(), words[-1].end()  # `Отандық мамандар: «…»`
        return _clause_subject(text, words) or name_span(text, who_start, who_end)
    return None


# bare role nouns that can be a sentence's subject (`Ресми өкіл`, `Президент`)
_ROLE_NOUN = re.compile(
    r"(?:президент|премьер-министр|вице-премьер|министр|өкіл|сарапшы|елші|депутат|сенатор|"
    r"спикер|әкім|хатшы|төраға|директор|басшы|дипломат|саясаттанушы|экономист|шейх)$"
)
_SETTING = re.compile(r"(?<=\w\w)(?:нда|нде|да|де|та|те)$")  # `… түсініктемесінде`


def _clause_subject(text: str, words: list[re.Match[str]]) -> tuple[int, int] | None:
    """The subject of a long lead-in that names where the words were said: before the
    setting (`Ресми өкіл журналистерге берген түсініктемесінде …`, `Е. Көшербаев
    келіссөздерден кейін …`) or right after it (`Кейін өткен … мәслихатында Президент өз
    сөзінде`). Only a person's name or a role noun counts, so an object in between
    (`Астана Ауғанстан халқына`) is never taken for the speaker."""
    plain = [w.group().lower() for w in words]
    setting = next((i for i, w in enumerate(plain) if i > 0 and _SETTING.search(w)), None)
    if len(words) < 4 or setting is None:
        return None
    for first in (0, setting + 1):
        last = first
        while last < len(words) and not (
            _OBLIQUE.search(plain[last]) or _PARTICIPLE.search(plain[last]) or plain[last] == "өз"
        ):
            last += 1
        phrase = plain[first:last]
        if not phrase or len(phrase) > 4:
            continue
        person = any(_SURNAME.search(w) for w in phrase) and words[first].group()[:1].isupper()
        if person or _ROLE.search(phrase[-1]) or _ROLE_NOUN.search(phrase[-1]):
            a, b = words[first].start(), words[last - 1].end()
            initial = re.search(UPPER + r"\.\s?$", text[max(0, a - 3) : a])
            a -= len(initial.group()) if initial else 0  # `Е. Көшербаев`
            return (name_span(text, a, b) or (a, b)) if person else (a, b)
    return None


_OBLIQUE = re.compile(
    r"(?<=\w\w|\w-)(?:мен|бен|пен|ға|ге|қа|ке|ны|ні|ды|ді|ты|ті|дан|ден|тан|тен|нан|нен|"
    r"да|де|та|те|нда|нде)$"
)
_FUNCTION_WORDS = {
    "ол",
    "олар",
    "бұл",
    "осы",
    "сол",
    "соңы",
    "өзі",
    "біз",
    "мен",
    "сен",
    "ал",
    "және",
    "бірақ",
}
_VOWELS = set("аәеиоөұүыіэюяАӘЕИОӨҰҮЫІЭЮЯ")
_CAPITAL_WORD = re.compile(r"(?<![\w-])" + CAPITALISED)


def _person(view: str, start: int, end: int) -> tuple[int, int] | None:
    """A mention of a person the text may go on to call `ол`: a name in the nominative,
    or in the genitive (`Ғазиз Әбішевтің пайымдауынша`, ending dropped); a name in any
    other case (`Нетаньяхумен`, `Тоқаевқа`) is someone spoken to or about."""
    words = list(re.finditer(r"\S+", view[start:end]))
    while len(words) > 2 and words[-1].group()[:1].isupper() and _CASED.search(words[-1].group()):
        words.pop()  # `Тамим бин Хамад Әл Тани Алматыда`: a place after the name
        end = start + words[-1].end()
    if re.search(r"(?<=\w\w)(?:мен|бен|пен)$", words[-1].group()):
        # `Биньямин Нетаньяхумен кездесті`: the one met is not the speaker, but the
        # one who met them may be named right before (`Тоқаев Ильхам Әлиевпен`)
        words = words[:-2]
        if not any(_SURNAME.search(_GENITIVE.sub("", w.group().lower())) for w in words):
            return None
        end = start + words[-1].end()
    stems = [_GENITIVE.sub("", w.group().lower()) for w in words]
    surname = next((i for i, w in enumerate(stems) if _SURNAME.search(w)), None)
    person = surname is not None
    if surname is not None:  # `Саясаттанушы Ғазиз Әбішев`, `Садыр Жапаров Жогорку Кенеш`
        first = max(surname - 1, 0)
        start, end = start + words[first].start(), start + words[surname].end()
    last = view[start:end].split()[-1].lower()
    ending = _GENITIVE.search(last)
    if ending:
        return (start, end - len(ending.group())) if person else None
    oblique = _OBLIQUE.search(last)
    if person and oblique and not _SURNAME.search(last):
        return None
    if not person and end - start == len(last):
        return None  # a lone capitalised word that is not a surname
    following = re.match(r"\s+(\w+)", view[end:])
    if not person and following and (_GENITIVE.search(following.group(1)) or oblique):
        return None  # `Қырғызстан Министрлер кабинетінің`: a body, not a person
    if not person and _GENITIVE.search(words[0].group()):
        return None  # `Иранның АҚШ-қа`: a country's, then a place
    if not person and following and following.group(1).islower():
        noun = following.group(1)
        if _POSSESSIVE.search(noun) and not (_NOT_HEAD.match(noun) or noun in _FUNCTION_WORDS):
            return None  # `Орталық Азия мемлекеттері`: it names what follows
    return (start, end) if person else name_span(view, start, end)


def resolve_pronoun(article: Any, before: int, previous: list[dict[str, Any]]) -> str | None:
    """The person a pronoun attribution (`деді ол`) refers to, as the text last names
    them (NOTES Q7): the latest of the names before the quote (nominative or genitive)
    and the speakers earlier quotes named."""
    view = article.view.text
    found: list[tuple[int, str]] = []
    covered = 0
    for m in _CAPITAL_WORD.finditer(view, 0, before):
        if m.start() < covered or m.group().lower() in _FUNCTION_WORDS:
            continue  # a later word of a name already read whole; `Ол`, `Бұл` open sentences
        if _ROLE_NOUN.fullmatch(m.group().lower()):
            continue  # `Дипломат Ресей мен …`: a title opening the sentence, not a name
        whole = _FULL_NAME.match(view, m.start())
        end = min(whole.end() if whole else m.end(), before)
        covered = end
        initial = re.search(r"(?<!\w)" + UPPER + r"\.\s?$", view[max(0, m.start() - 3) : m.start()])
        start = m.start() - len(initial.group()) if initial else m.start()  # `Е. Ақкенженов`
        quoted = m.start() > 0 and view[m.start() - 1] in '«"'
        if quoted or re.match(r"\s+атында", view[end:]):
            continue  # `«Барыс Арена»`, `Е.Рахмадиев атындағы филармония`: not a speaker
        span = _person(view, m.start(), end)
        if span is not None and span[1] > span[0]:
            a, b = article.to_source(start if span[0] == m.start() else span[0], span[1])
            found.append((b, article.text[a:b]))
    for q in previous:
        named = q["speaker"] and q["speaker"][:1].isupper() and not is_pronoun(q["speaker"])
        head = _cyrillic(str(q["speaker"]).split()[0].lower()) if named else ""
        if named and not _ROLE.search(head):  # `Министр` names nobody new
            at = q["attribution"][1] if q.get("attribution") else q["end"]
            found.append((at, str(q["speaker"])))
    return max(found, key=lambda f: f[0])[1] if found else None


def speech_speaker(article: Any, before: int) -> str | None:
    """Who gives an address that no attribution names: the person the lead-in names
    last (`Мемлекет басшысы Қасым-Жомарт Тоқаевтың … сөйлеген сөзі`), without the case
    ending (NOTES Q7: null only when nothing names the speaker)."""
    view = article.view.text
    people = [
        m
        for m in NAME.finditer(view, 0, before)
        if any(_SURNAME.search(_GENITIVE.sub("", w.lower())) for w in m.group().split())
    ]
    if not people:
        return None
    words = list(_WORDS.finditer(view, *people[-1].span()))
    last = max(  # the last surname-like word: `Ирина Самойлованың` (first names end in -ина too)
        i for i, w in enumerate(words) if _SURNAME.search(_GENITIVE.sub("", w.group().lower()))
    )
    ending = _GENITIVE.search(words[last].group())
    end = words[last].end() - (len(ending.group()) if ending else 0)
    a, b = article.to_source(words[0].start(), end)
    return str(article.text[a:b])


def _cyrillic(words: str) -> str:
    from salatag.text import normalize

    return normalize(words, transliterate=True).text


def is_pronoun(name: str | None) -> bool:
    if not name:
        return False
    return _cyrillic(name.strip().lower()) in PRONOUNS


def model_speaker(text: str, speakers: list[Span], q: Span) -> tuple[int, int] | None:
    """The tagger's speaker mention nearest the quote (after it first, same or next
    line; else before it on its line), cut to the name as the attribution gives it."""
    after = [sp for sp in speakers if sp.start >= q.end and text.count("\n", q.end, sp.start) <= 1]
    before = [sp for sp in speakers if sp.end <= q.start and "\n" not in text[sp.end : q.start]]
    pick = min(after, key=lambda sp: sp.start) if after else None
    if pick is None and before:
        pick = max(before, key=lambda sp: sp.start)
    if pick is None:
        return None
    return name_span(text, pick.start, pick.end) or (pick.start, pick.end)


# `Kazinform тілшісі`, also as the lead declines it (`тілшісіне сұхбат берді`)
_INTERVIEWER = re.compile(
    r"(?:[^\W\d_][\w-]*\s+)?тілші(?:сі|міз)(?=(?:не|нің|мен|ге)?(?!\w))", re.IGNORECASE
)


def interview_speakers(article: Any, spans: list[Span], records: list[dict[str, Any]]) -> None:
    """Speakers of an interview's unattributed dash-opened turns (NOTES Q4): a question
    is the interviewer's (`Kazinform тілшісі`, as the lead names them; null if it does
    not, Q11), an answer is the person the lead names last. An article is an interview
    when two such turns or more are questions."""
    view = article.view.text

    def dash_turn(q: Span, r: dict[str, Any]) -> bool:
        line_start = line_bounds(view, q.start)[0]
        opener = r"\s*" + DASH + r"\s*[«“\"]?"  # `– «Бойымда талант жоқ» деп …`
        opened = re.fullmatch(opener, view[line_start : q.start]) is not None
        return opened and r["attribution"] is None and r["speaker"] is None

    turns = [(q, r) for q, r in zip(spans, records, strict=True) if dash_turn(q, r)]
    questions = [q for q, _ in turns if view[q.start : q.end].rstrip().endswith("?")]
    if not questions:
        return
    lead_end = line_bounds(view, questions[0].start)[0]
    announced = "сұхбат" in view[line_bounds(view, max(lead_end - 1, 0))[0] : lead_end].lower()
    if len(questions) < 2 and not announced:
        return  # one question and no lead saying an interview follows: not an interview
    found = list(_INTERVIEWER.finditer(view, 0, lead_end))
    asker = None
    if found:
        a, b = found[-1].span()
        named = NAME.match(view, b + 1) if view[b : b + 1] == " " else None
        words = list(_WORDS.finditer(view, *named.span())) if named else []
        stems = [_DATIVE.sub("", w.group().lower()) for w in words]
        surname = [i for i, w in enumerate(stems) if _SURNAME.search(w)]
        if surname:  # `тілшісі Айдана Серікқызы(на)`: the name alone (Q15), in the nominative
            last = words[surname[0]]
            a, b = words[0].start(), last.start() + len(stems[surname[0]])
        a, b = article.to_source(a, b)
        asker = article.text[a:b]
    answerer = interviewee(article, lead_end) or speech_speaker(article, lead_end)
    if answerer == asker:
        answerer = None
    for q, r in turns:
        if q.start >= lead_end:
            r["speaker"] = asker if view[q.start : q.end].rstrip().endswith("?") else answerer


_WITH = re.compile(r"(?<=\w\w)(?:мен|бен|пен)$")
_DATIVE = re.compile(r"(?<=\w\w\w)(?:ға|ге|қа|ке)$")
# `… сенатор Ғабит Тұрсынбаевтан қысқаша сұхбат алды`: the one it was taken from
_TAKEN_FROM = re.compile(r"(?<=\w\w)(?:тан|тен|дан|ден|нан|нен)\s+(?:\w+\s+)?сұхбат\s+ал")
# `… елшісі Ли Чжон Хун Kazinform тілшісі Әлия Бекмұхамбетоваға сұхбат беріп`
_GAVE = re.compile(r"(?:\s+\S+){0,3}?\s+(?:сұхбат\s+бер|берген\s+сұхбат)")


def interviewee(article: Any, lead_end: int) -> str | None:
    """The person an interview's lead says it was held with, the case ending dropped:
    `Бақыт Жанғалиевпен сұхбаттасты`, or the name right before `… тілшісіне сұхбат
    берді` (`Мехмет Арслан Kazinform тілшісіне`)."""
    view = article.view.text
    for m in reversed(list(NAME.finditer(view, 0, lead_end))):
        words = list(_WORDS.finditer(view, *m.span()))[-2:]
        ending = _WITH.search(words[-1].group())
        talk = view[m.end() : m.end() + 12].lstrip().startswith("сұхбат")
        if ending and (talk or _SURNAME.search(words[-1].group()[: ending.start()].lower())):
            a, b = article.to_source(words[0].start(), words[-1].end() - 3)
            return str(article.text[a:b])
    taken = _TAKEN_FROM.search(view, 0, lead_end)
    if taken:
        name = [m for m in NAME.finditer(view, 0, taken.start() + 1) if m.end() > taken.start()]
        if name:
            a, b = article.to_source(name[-1].start(), taken.start())
            return str(article.text[a:b])
    for found in _INTERVIEWER.finditer(view, 0, lead_end):
        if _GAVE.match(view, found.end()):  # the subject of the sentence gave it
            begin = max(view.rfind(c, 0, found.start()) for c in ".!?\n–") + 1
            subject = name_span(view, begin, found.start())
            if subject and view[subject[0] : subject[1]][:1].isupper():
                a, b = article.to_source(*subject)
                return str(article.text[a:b])
        gave = re.match(r"(?:не|ге)\s+сұхбат", view[found.end() : found.end() + 12])
        words = list(_WORDS.finditer(view, 0, found.start()))[-3:]
        name = [w for w in words if w.group()[:1].isupper()]
        if gave and len(name) >= 2 and name[-1].end() == words[-1].end():
            a, b = article.to_source(name[-2].start(), name[-1].end())
            return str(article.text[a:b])
    return None


def speaker_of(text: str, speakers: list[Span], q: Span, source: str) -> tuple[int, int] | None:
    order = {
        "model": ("model",),
        "rule": ("rule",),
        "rule_then_model": ("rule", "model"),
        "model_then_rule": ("model", "rule"),
    }[source]
    for kind in order:
        found = attribution_speaker(text, q) if kind == "rule" else model_speaker(text, speakers, q)
        if found is not None and found[1] > found[0]:
            return found
    return None
