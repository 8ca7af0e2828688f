"""Python's jsonschema doing the same work as jsonschema-bench: parse + validate one referral.

Draft202012Validator with FORMAT_CHECKER plus checkers for our formats (nhs-number, upn,
uk-postcode), the schema compiled once. Usage: bench.py <schema.json> <instance.json> [seconds]
"""
import json
import re
import sys
import time

from jsonschema import Draft202012Validator

schema_path, instance_path = sys.argv[1], sys.argv[2]
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0

checker = Draft202012Validator.FORMAT_CHECKER


@checker.checks("nhs-number")
def nhs_number(value):
    if not isinstance(value, str):
        return True
    digits = value.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
UPN_PATTERN = re.compile(r"^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$")


@checker.checks("upn")
def upn(value):
    if not isinstance(value, str):
        return True
    if not UPN_PATTERN.match(value):
        return False
    total = 0
    for index, char in enumerate(value[1:], start=2):
        total += (int(char) if char.isdigit() else UPN_ALPHABET.index(char)) * index
    return value[0] == UPN_ALPHABET[total % 23]


POSTCODE = re.compile(
    r"^(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]([0-9]|[ABEHMNPRV-Y])?|[0-9][A-HJKPS-UW]) ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)


@checker.checks("uk-postcode")
def uk_postcode(value):
    if not isinstance(value, str):
        return True
    upper = value.upper()
    return upper == "ZZ99 3VZ" or POSTCODE.match(upper) is not None


with open(schema_path, "rb") as handle:
    schema = json.load(handle)
with open(instance_path, "rb") as handle:
    text = handle.read()

validator = Draft202012Validator(schema, format_checker=checker)
errors = list(validator.iter_errors(json.loads(text)))
if errors:
    for error in errors:
        print(f"python: {error.json_path}: {error.message}", file=sys.stderr)
    sys.exit(1)

for _ in range(50):  # warm up
    validator.is_valid(json.loads(text))
count = 0
start = time.perf_counter()
deadline = start + seconds
now = start
while now < deadline:
    for _ in range(20):
        assert validator.is_valid(json.loads(text))
    count += 20
    now = time.perf_counter()
print(f"python_per_s={int(count / (now - start))}")
