#!/usr/bin/env python3
"""Check routes/referral.schema.json, the example referrals and docs/schema.md against each other.

A development aid, independent of the Swift validator: it uses Python's `jsonschema`
(pip install jsonschema) with format assertion on, and our formats nhs-number, upn and
uk-postcode implemented exactly as shared/domain/referrals.md describes them.

It checks:
  1. the schema against the 2020-12 metaschema, and our house rules: every property has
     a description, every object rejects unknown members, every string has maxLength,
     every array maxItems;
  2. every file in routes/examples/ against expected.json: validity, the error keywords
     and instance pointers of invalid files, and the routing outcome (rules, partner
     types, receipt) computed by an independent reference implementation of R1-R7;
  3. fixtures hygiene: distinct referralIds, NHS numbers only in the never-issued 999
     range, a README line per example;
  4. docs/schema.md: the field table equals scripts/schema-doc.py's output and the
     minimal example is valid.

Usage: scripts/check-examples.py [-v]       exit status 0 when everything holds
"""
import importlib.util
import json
import re
import sys
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "routes" / "referral.schema.json"
EXAMPLES = ROOT / "routes" / "examples"
DOC_PATH = ROOT / "docs" / "schema.md"

# ---- Our formats, exactly as referrals.md defines them ---------------------------------

UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
UPN_PATTERN = re.compile(r"^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$")
POSTCODE_PATTERN = re.compile(
    r"^(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]([0-9]|[ABEHMNPRV-Y])?|[0-9][A-HJKPS-UW])"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})$")


def nhs_check_digit(first_nine):
    """The mod-11 check digit for nine digits, or None when no digit can be valid."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_nhs_number(value):
    if not isinstance(value, str):
        return True
    digits = value.replace(" ", "").replace("-", "")
    if not re.fullmatch(r"[0-9]{10}", digits):
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])


def upn_check_letter(last_twelve):
    total = 0
    for weight, char in enumerate(last_twelve, start=2):
        total += weight * (int(char) if char.isdigit() else UPN_ALPHABET.index(char))
    return UPN_ALPHABET[total % 23]


def is_upn(value):
    if not isinstance(value, str):
        return True
    return bool(UPN_PATTERN.match(value)) and upn_check_letter(value[1:]) == value[0]


def is_uk_postcode(value):
    if not isinstance(value, str):
        return True
    upper = value.upper()
    return upper == "ZZ99 3VZ" or bool(POSTCODE_PATTERN.match(upper))


def format_checker():
    checker = FormatChecker()  # every format jsonschema knows, incl. date, date-time, email, uuid
    checker.checks("nhs-number")(is_nhs_number)
    checker.checks("upn")(is_upn)
    checker.checks("uk-postcode")(is_uk_postcode)
    return checker


# ---- Strict JSON, as the router reads it -----------------------------------------------

class NotJSON(Exception):
    pass


def load_strict(path):
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        raise NotJSON("byte order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotJSON(f"invalid UTF-8: {error}") from None

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise NotJSON("duplicate key")
        return dict(pairs)

    def no_constants(name):
        raise NotJSON(f"non-finite literal {name}")

    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except json.JSONDecodeError as error:
        raise NotJSON(str(error)) from None


# ---- House rules for the schema ----------------------------------------------------------

def lint_schema(schema):
    problems = []

    def visit(node, where):
        if isinstance(node, list):
            for i, item in enumerate(node):
                visit(item, f"{where}/{i}")
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind == "object" and node.get("additionalProperties") is not False \
                and node.get("unevaluatedProperties") is not False:
            problems.append(f"{where}: object without additionalProperties: false")
        if kind == "string" and "maxLength" not in node:
            problems.append(f"{where}: string without maxLength")
        if kind == "array" and "maxItems" not in node:
            problems.append(f"{where}: array without maxItems")
        for name, sub in node.get("properties", {}).items():
            if not isinstance(sub, dict) or not sub.get("description"):
                problems.append(f"{where}/properties/{name}: no description")
        for key, value in node.items():
            if key in ("enum", "const", "required", "examples"):
                continue
            visit(value, f"{where}/{key}")

    visit(schema, "#")
    if schema.get("$id") != "https://referral-router.dev/schemas/referral/1.0.0":
        problems.append("#: unexpected $id")
    if schema.get("properties", {}).get("schemaVersion", {}).get("const") != "1.0.0":
        problems.append("#/properties/schemaVersion: const is not 1.0.0")
    return problems


# ---- Errors as the router reports them -------------------------------------------------

def pointer(parts):
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def reported_errors(validator, instance):
    """(keyword, instance pointer, is-rule-2) for every error, as the 2020-12 output format
    locates them: an unknown member is reported at the member itself, not its parent."""
    rule2_index = next(i for i, sub in enumerate(validator.schema["allOf"])
                       if sub.get("$ref") == "#/$defs/consentBasedReferralRule")
    errors = []
    for error in validator.iter_errors(instance):
        path = list(error.absolute_path)
        schema_path = list(error.absolute_schema_path)
        is_rule2 = schema_path[:3] == ["allOf", rule2_index, "then"]
        if error.validator == "additionalProperties":
            known = set(error.schema.get("properties", {}))
            for name in error.instance:
                if name not in known:
                    errors.append(("additionalProperties", pointer(path + [name]), is_rule2))
        else:
            errors.append((error.validator, pointer(path), is_rule2))
    return errors


# ---- The default routing rules R1-R7, written independently of expected.json -----------

R1_CATEGORIES = {"sexual-abuse", "child-sexual-exploitation", "child-criminal-exploitation",
                 "trafficking", "fgm", "honour-based-abuse", "missing", "radicalisation"}
R3_CATEGORIES = {"injury-unexplained", "neglect", "fgm", "self-harm-mental-health",
                 "unborn-pre-birth", "substance-misuse", "parental-mental-health"}
R4_CATEGORIES = {"domestic-abuse", "physical-abuse", "emotional-abuse", "sexual-abuse",
                 "neglect", "education-attendance"}
PARTNER_ORDER = ["local-authority", "police", "health", "school", "early-help"]


def is_immediate(document):
    urgency = document.get("urgency") if isinstance(document, dict) else None
    return isinstance(urgency, dict) and urgency.get("level") == "immediate"


def route_valid(referral):
    """Rules that decide the outcome, partner types, receipt, for a schema-valid referral."""
    child, concern = referral["child"], referral["concern"]
    consent, level = referral["consent"], referral["urgency"]["level"]
    categories = set(concern["categories"])
    r1 = level == "immediate" or concern["crimeSuspected"] or bool(categories & R1_CATEGORIES)
    r2 = concern["significantHarmSuspected"] or referral["referralType"] == "safeguarding"
    r3 = r2 and bool(categories & R3_CATEGORIES) and ("nhsNumber" in child or "gpOdsCode" in child)
    r4 = r2 and "school" in child and bool(categories & R4_CATEGORIES)
    r5 = (referral["referralType"] in ("early-help", "child-in-need")
          and not concern["significantHarmSuspected"] and not (r1 or r2))
    r6 = consent["status"] in ("refused", "withdrawn") and not (r1 or r2)
    r7 = referral["referralType"] == "information-only"
    if r6:  # R6 overrides R7 (and R5's fan-out): nothing is sent.
        return ["R6"], [], "RETURNED"
    rules, partners = [], set()
    for name, holds, to in (("R1", r1, {"local-authority", "police"}), ("R2", r2, {"local-authority"}),
                            ("R3", r3, {"health"}), ("R4", r4, {"school"})):
        if holds:
            rules.append(name)
            partners |= to
    if r5:
        if consent["status"] != "given":
            return ["R5"], [], "CONSENT_REQUIRED"
        rules.append("R5")
        partners |= {"early-help"} | set(consent.get("scope", []))
    if r7:
        rules.append("R7")
        partners.add("local-authority")
    # Every valid referral matches a default rule (rule 2 makes R5 total), so FORWARDED_UNROUTED
    # needs a narrower configuration than the shipped one.
    assert rules, "a valid referral matched no default rule"
    return rules, [p for p in PARTNER_ORDER if p in partners], "ACCEPTED"


def outcome(validator, path):
    """What the router should do with one dropped file."""
    try:
        document = load_strict(path)
    except NotJSON as error:
        return {"valid": False, "parseError": str(error), "errors": [], "rules": [],
                "partnerTypes": [], "receipt": "REJECTED"}, None
    errors = reported_errors(validator, document)
    if not errors:
        rules, partners, receipt = route_valid(document)
        return {"valid": True, "errors": [], "rules": rules, "partnerTypes": partners,
                "receipt": receipt}, document
    if is_immediate(document):  # the safety net: never only bounced
        return {"valid": False, "errors": errors, "rules": [], "partnerTypes": ["local-authority"],
                "receipt": "FORWARDED_INVALID"}, document
    if all(is_rule2 for _, _, is_rule2 in errors):  # well-formed, only consent missing: R5's return
        return {"valid": False, "errors": errors, "rules": ["R5"], "partnerTypes": [],
                "receipt": "CONSENT_REQUIRED"}, document
    return {"valid": False, "errors": errors, "rules": [], "partnerTypes": [],
            "receipt": "REJECTED"}, document


# ---- Fixture hygiene --------------------------------------------------------------------

def strings_under(node, key):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, str):
                yield v
            yield from strings_under(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from strings_under(item, key)


def check_docs(schema, validator, failures):
    if not DOC_PATH.exists():
        failures.append("docs/schema.md is missing")
        return
    spec = importlib.util.spec_from_file_location("schema_doc", ROOT / "scripts" / "schema-doc.py")
    schema_doc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(schema_doc)
    text = DOC_PATH.read_text(encoding="utf-8")
    try:
        table = text.split(schema_doc.BEGIN, 1)[1].split(schema_doc.END, 1)[0]
    except IndexError:
        failures.append("docs/schema.md: field markers missing")
        return
    if table.strip() != schema_doc.markdown_table(schema).strip():
        failures.append("docs/schema.md: field table differs from scripts/schema-doc.py (run it with --update-docs)")
    match = re.search(r"## Minimal valid example.*?```json\n(.*?)```", text, re.S)
    if not match:
        failures.append("docs/schema.md: no minimal example")
        return
    minimal = json.loads(match.group(1))
    if reported_errors(validator, minimal):
        failures.append(f"docs/schema.md: minimal example invalid: {reported_errors(validator, minimal)}")
    copy_path = EXAMPLES / "valid" / "minimal-safeguarding.json"
    if not copy_path.exists() or json.loads(copy_path.read_text()) != minimal:
        failures.append("docs/schema.md: minimal example differs from valid/minimal-safeguarding.json")


def main(argv):
    verbose = "-v" in argv
    failures = []
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    failures += [f"schema: {p}" for p in lint_schema(schema)]
    validator = Draft202012Validator(schema, format_checker=format_checker())

    # The format checkers themselves, on referrals.md's worked examples.
    for check, value, want in ((is_nhs_number, "9434765919", True), (is_nhs_number, "4010232137", True),
                               (is_nhs_number, "9434765871", False), (is_nhs_number, "943 476 5919", True),
                               (is_upn, "B801200005001", True), (is_upn, "A801200005001", False),
                               (is_uk_postcode, "CF10 1AA", True), (is_uk_postcode, "cf101aa", True),
                               (is_uk_postcode, "ZZ99 3VZ", True), (is_uk_postcode, "SW1A 2AA", True),
                               (is_uk_postcode, "M60 IQD", False), (is_uk_postcode, "BS5 9QTT", False)):
        if check(value) != want:
            failures.append(f"format self-test: {check.__name__}({value!r}) is not {want}")

    expected = json.loads((EXAMPLES / "expected.json").read_text(encoding="utf-8"))
    files = sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.glob("*/*.json"))
    for name in sorted(set(files) ^ set(expected)):
        failures.append(f"{name}: in {'expected.json only' if name in expected else 'examples but not expected.json'}")
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8") if (EXAMPLES / "README.md").exists() else ""

    seen_ids = {}
    for name in files:
        path = EXAMPLES / name
        got, document = outcome(validator, path)
        want = expected.get(name, {})
        should_be_valid = name.startswith("valid/")
        problems = []
        if got["valid"] != should_be_valid:
            problems.append(f"valid={got['valid']} but the file is under {name.split('/')[0]}/")
        if want.get("valid") != got["valid"]:
            problems.append(f"expected valid={want.get('valid')}, got {got['valid']}")
        if not got["valid"]:
            keywords = sorted({k for k, _, _ in got["errors"]})
            pointers = sorted({p for _, p, _ in got["errors"]})
            if sorted(want.get("errorKeywords", [])) != keywords:
                problems.append(f"errorKeywords: expected {want.get('errorKeywords')}, got {keywords}")
            if sorted(want.get("errorPointers", [])) != pointers:
                problems.append(f"errorPointers: expected {want.get('errorPointers')}, got {pointers}")
            if ("parseError" in got) != ("parseError" in want):
                problems.append(f"parseError: expected {want.get('parseError')}, got {got.get('parseError')}")
        for key in ("rules", "partnerTypes", "receipt"):
            if want.get(key) != got[key]:
                problems.append(f"{key}: expected {want.get(key)}, got {got[key]}")
        if f"`{name}`" not in readme:
            problems.append("no line in README.md")
        if isinstance(document, dict):
            referral_id = document.get("referralId")
            if referral_id in seen_ids:
                problems.append(f"referralId also used by {seen_ids[referral_id]}")
            seen_ids[referral_id] = name
            for nhs in strings_under(document, "nhsNumber"):
                if not nhs.replace(" ", "").replace("-", "").startswith("999"):
                    problems.append(f"NHS number outside the 999 test range")
            if should_be_valid and not 2000 <= path.stat().st_size <= 5500 \
                    and name != "valid/minimal-safeguarding.json":
                problems.append(f"size {path.stat().st_size} bytes, outside ~2-5 KB")
        failures += [f"{name}: {p}" for p in problems]
        if verbose:
            detail = got["errors"] or got.get("parseError", "")
            print(f"{'ok ' if not problems else 'BAD'} {name:60} {path.stat().st_size:5} B "
                  f"{got['receipt']:18} {','.join(got['rules']) or '-':12} "
                  f"{','.join(got['partnerTypes']) or '-'} {detail if detail else ''}")

    check_docs(schema, validator, failures)
    for failure in failures:
        print("FAIL", failure)
    valid_count = sum(1 for f in files if f.startswith("valid/"))
    print(f"schema {SCHEMA_PATH.stat().st_size} bytes; {valid_count} valid and "
          f"{len(files) - valid_count} invalid examples; {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
