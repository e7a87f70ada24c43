"""Downloads the corpus (see scripts/fetch-corpus) from PyPI's simple JSON API
(PEP 691), in parallel: for each pin of requirements.txt the file pip would take for this
interpreter (the wheel whose tag ranks first in packaging's sys_tags, else the
sdist), the sdists named in sdists, and the wheels of alternatives for other
targets. Every file must have a hash the requirements pin."""
import concurrent.futures, hashlib, json, os, re, sys, urllib.request

from packaging.tags import Tag, cpython_tags, compatible_tags, sys_tags
from packaging.utils import (InvalidSdistFilename, InvalidWheelFilename, canonicalize_name,
                             parse_sdist_filename, parse_wheel_filename)
from packaging.version import InvalidVersion, Version

req, sdists_file, alts_file, out = sys.argv[1:5]


def read_pins(path):
    text = open(path).read().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        m = re.match(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^ ;]+)", line)
        if m:
            pins[canonicalize_name(m.group(1))] = (m.group(3), set(re.findall(r"sha256:([0-9a-f]{64})", line)))
    return pins


def names(path):
    return [l.split() for l in open(path) if l.strip() and not l.startswith("#")]


def release(name, version):
    """The files of one version, from the PEP 691 JSON page."""
    url = f"https://pypi.org/simple/{name}/"
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            page = json.load(r)
    except OSError as e:
        raise SystemExit(f"{url}: {e}")
    want = Version(version)
    out = []
    for f in page["files"]:
        fn = f["filename"]
        try:
            if fn.endswith(".whl"):
                v, kind = parse_wheel_filename(fn)[1], "bdist_wheel"
            elif fn.endswith(".tar.gz") or fn.endswith(".zip"):
                v, kind = parse_sdist_filename(fn)[1], "sdist"
            else:
                continue
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
        if v == want and not f.get("yanked"):
            out.append({"filename": fn, "url": f["url"], "digests": {"sha256": f["hashes"].get("sha256", "")}, "packagetype": kind})
    return out


def best_wheel(files, tags):
    rank = {t: i for i, t in enumerate(tags)}
    best = None
    for f in files:
        if f["packagetype"] != "bdist_wheel":
            continue
        r = min((rank[t] for t in parse_wheel_filename(f["filename"])[3] if t in rank), default=None)
        if r is not None and (best is None or r < best[0]):
            best = (r, f)
    return best and best[1]


def fetch(f, hashes):
    if f["digests"]["sha256"] not in hashes:
        raise SystemExit(f"{f['filename']}: sha256 {f['digests']['sha256']} is not pinned in {req}")
    dst = os.path.join(out, f["filename"])
    if os.path.exists(dst) and hashlib.sha256(open(dst, "rb").read()).hexdigest() == f["digests"]["sha256"]:
        return
    with urllib.request.urlopen(f["url"], timeout=300) as r:
        data = r.read()
    if hashlib.sha256(data).hexdigest() != f["digests"]["sha256"]:
        raise SystemExit(f"{f['filename']}: the download does not have its pinned sha256")
    with open(dst + ".part", "wb") as w:
        w.write(data)
    os.rename(dst + ".part", dst)


def plan(name, version, hashes, here, sdist_too, alts):
    files = release(name, version)
    jobs = []
    wheel = best_wheel(files, here)
    sdist = next((f for f in files if f["packagetype"] == "sdist"), None)
    if wheel:
        jobs.append(wheel)
    if (not wheel or sdist_too) and sdist:
        jobs.append(sdist)
    if not wheel and not sdist:
        raise SystemExit(f"{name} {version}: nothing on PyPI runs here")
    for tags in alts:
        alt = best_wheel(files, tags)
        if not alt:
            raise SystemExit(f"{name} {version}: no wheel for the alternative {tags[0]}")
        jobs.append(alt)
    for f in jobs:
        fetch(f, hashes)
    return len(jobs)


pins = read_pins(req)
sdists = {canonicalize_name(n[0]) for n in names(sdists_file)}
alts = {}
for plat, pyver, abi, *dists in names(alts_file):
    v = tuple(int(x) for x in pyver.split("."))
    tags = list(cpython_tags(v, [abi], [plat])) + list(compatible_tags(v, "cp" + "".join(map(str, v)), [plat]))
    for d in dists:
        alts.setdefault(canonicalize_name(d), []).append(tags)
here = list(sys_tags())
os.makedirs(out, exist_ok=True)
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    done = [pool.submit(plan, n, v, h, here, n in sdists, alts.get(n, [])) for n, (v, h) in sorted(pins.items())]
    total = sum(f.result() for f in done)
print(f"fetch-corpus: {total} files")
