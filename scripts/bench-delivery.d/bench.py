#!/usr/bin/env python3
"""Helpers for scripts/bench-delivery: make referral files, drop them at a steady rate, and read
figures from nginx's access log. Standard library only."""
import json, os, sys, time, uuid

def generate(example, out_dir, count):
    """`count` copies of `example`, each with its own referralId, in out_dir (names = ids)."""
    text = open(example).read()
    old = json.loads(text)["referralId"]
    os.makedirs(out_dir, exist_ok=True)
    for _ in range(count):
        rid = str(uuid.uuid4())
        with open(os.path.join(out_dir, rid + ".json"), "w") as f:
            f.write(text.replace(old, rid))

def curl_config(files_dir, url, cacert, out):
    """A curl -K file with one block per transfer (per-transfer options repeated: `next` resets them)."""
    with open(out, "w") as f:
        for i, name in enumerate(sorted(os.listdir(files_dir))):
            if i:
                f.write("next\n")
            f.write(f'url = "{url}"\nrequest = "POST"\ndata-binary = "@{os.path.join(files_dir, name)}"\n'
                    f'header = "Content-Type: application/json"\ncacert = "{cacert}"\noutput = "/dev/null"\nhttp2\nsilent\n')

def move_all(src, dst):
    """Rename every file from a staging folder into the inbound folder (same file system)."""
    for name in os.listdir(src):
        os.rename(os.path.join(src, name), os.path.join(dst, name))

def delivered_ids(log):
    """Referral ids nginx answered 202 for (log format: msec id status)."""
    ids = {}
    try:
        with open(log) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "202" and parts[1] != "-":
                    ids.setdefault(parts[1], float(parts[0]))
    except FileNotFoundError:
        pass
    return ids

def wait_delivered(log, expected, timeout, progress=None):
    """Seconds until `expected` distinct ids were answered 202, or -1 on timeout. It reads only the
    lines added since the last poll, so the waiting costs little CPU on the cores the router uses.
    With `progress` (an inbound folder), prints how many files still wait there, each second."""
    start = time.time()
    ids = set()
    partial = ""
    offset = 0
    last_report = start
    while time.time() - start < timeout:
        try:
            with open(log) as f:
                f.seek(offset)
                chunk = f.read()
                offset = f.tell()
        except FileNotFoundError:
            chunk = ""
        lines = (partial + chunk).split("\n")
        partial = lines.pop()
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "202" and parts[1] != "-":
                ids.add(parts[1])
        now = time.time()
        if len(ids) >= expected:
            return now - start
        if progress and now - last_report >= 1:
            last_report = now
            waiting = sum(1 for _ in os.scandir(progress))
            print(f"  {now - start:5.1f} s: {len(ids)} delivered, {waiting} files waiting", file=sys.stderr)
        time.sleep(0.05)
    return -1

def steady_drop(src_dir, stage_dir, inbound, rate, seconds, record):
    """Drop `rate` files per second for `seconds` (write to a stage on the same fs, then rename),
    recording each drop's wall time by referral id."""
    names = sorted(os.listdir(src_dir))[: int(rate * seconds)]
    os.makedirs(stage_dir, exist_ok=True)
    for name in names:
        with open(os.path.join(src_dir, name), "rb") as f, open(os.path.join(stage_dir, name), "wb") as g:
            g.write(f.read())
    dropped = {}
    start = time.time()
    for i, name in enumerate(names):
        due = start + i / rate
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        dropped[name[:-5]] = time.time()
        os.rename(os.path.join(stage_dir, name), os.path.join(inbound, name))
    json.dump(dropped, open(record, "w"))
    return len(names)

def latency(record, log, timeout):
    """p50 and p99 (ms) of drop-to-delivered for the ids in `record`."""
    dropped = json.load(open(record))
    deadline = time.time() + timeout
    while time.time() < deadline and not set(dropped) <= set(delivered_ids(log)):
        time.sleep(0.05)
    got = delivered_ids(log)
    samples = sorted((got[i] - t) * 1000 for i, t in dropped.items() if i in got)
    if not samples:
        return (-1, -1, 0)
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    return (pick(0.50), pick(0.99), len(samples))

if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "generate": generate(args[0], args[1], int(args[2]))
    elif command == "curl-config": curl_config(*args)
    elif command == "move-all": move_all(*args)
    elif command == "wait-delivered": print(f"{wait_delivered(args[0], int(args[1]), float(args[2]), args[3] if len(args) > 3 else None):.3f}")
    elif command == "count-delivered": print(len(delivered_ids(args[0])))
    elif command == "steady-drop": print(steady_drop(args[0], args[1], args[2], float(args[3]), float(args[4]), args[5]))
    elif command == "latency": print("%.1f %.1f %d" % latency(args[0], args[1], float(args[2])))
    else: sys.exit(f"unknown command {command}")
