"""helix.zfs.zfs_replicate from lab1 to lab2 over ssh (the hosts reach each other as labN),
on real pools on both: check / apply / apply again / check again, state read on both hosts."""
import json
import os
import shlex
import subprocess
import sys

import pytest

from conftest import converge, run_module, sh

PEER = "lab2"
# scripts/test.sh runs the other guest tests on lab2 at the same time: they own d1-d12 and the
# ht* pools there, so the peer's pool is pdst on d13 (a disk the Ansible targets take later).
PEER_DISK = "/dev/disk/by-id/virtio-helix-d13"
HEXKEY = "a1b2" * 16


def peer(cmd, check=True):
    return sh("ssh %s %s" % (PEER, shlex.quote(cmd)), check=check)  # POSIX quoting: $ stays remote


@pytest.fixture
def pools(forced_disks):
    sh("zpool create -f -O mountpoint=/htsrc htsrc %s" % forced_disks[0])
    peer("zpool destroy -f pdst 2>/dev/null; zpool labelclear -f %s 2>/dev/null; wipefs -qa %s; "
         "zpool create -f -O mountpoint=/pdst pdst %s" % (PEER_DISK, PEER_DISK, PEER_DISK))
    yield
    peer("zpool destroy -f pdst", check=False)


def peer_snaps(ds="pdst/app"):
    return lambda: peer("zfs list -Hp -t snapshot,bookmark -o name,guid -r %s 2>/dev/null; true" % ds)


def guid(snap, remote=False):
    cmd = "zfs get -Hp -o value guid %s" % snap
    return (peer(cmd) if remote else sh(cmd)).strip()


def fill(path, mib, seed):
    sh("mkdir -p %s && head -c %dM /dev/urandom > %s/blob%s && echo %s > %s/note%s && zpool sync"
       % (path, mib, path, seed, seed, path, seed))


def test_full_then_incremental_over_ssh_and_from_a_bookmark(pools):
    sh("zfs create htsrc/app")
    fill("/htsrc/app", 4, 1)
    sh("zfs snapshot htsrc/app@s1")
    fill("/htsrc/app", 2, 2)
    sh("zfs snapshot htsrc/app@s2")
    args = {"source": "htsrc/app", "target": "pdst/app", "target_host": PEER}
    check, applied = converge("zfs_replicate", diff=False, args=args, host_state=peer_snaps())
    assert [c[:3] for c in applied["commands"][:2]] == [["zfs", "send", "-L"], ["zfs", "send", "-L"]]
    second = applied["commands"][1]
    assert second[second.index("|") - 3:second.index("|")] == ["-I", "htsrc/app@s1", "htsrc/app@s2"]
    assert second[second.index("|") + 1:] == ["ssh", PEER, "zfs", "receive", "-s", "-u", "-x", "mountpoint", "-o",
                                              "canmount=noauto", "pdst/app"]
    assert [s["kind"] for s in applied["sent"]] == ["full", "incremental"]
    assert check["bytes"] > 0 and applied["bytes"] > 4 * 2**20
    for s in ("s1", "s2"):
        assert guid("pdst/app@" + s, remote=True) == guid("htsrc/app@" + s)
    assert peer("zfs get -H -o value mounted,canmount pdst/app").split() == ["no", "noauto"]
    assert sh("zfs list -H -t bookmark -o name -r htsrc") == "htsrc/app#s2\n"
    assert applied["verified"][0]["guid"] == guid("htsrc/app@s2")
    # Incremental from the newest common snapshot.
    fill("/htsrc/app", 1, 3)
    sh("zfs snapshot htsrc/app@s3")
    _check, applied = converge("zfs_replicate", diff=False, args=args, host_state=peer_snaps())
    send = applied["commands"][0]
    assert send[send.index("-I"):send.index("-I") + 3] == ["-I", "htsrc/app@s2", "htsrc/app@s3"]
    # The source pruned s2 and s3 but kept the bookmark: the next send starts from it.
    sh("zfs destroy htsrc/app@s2,s3")
    fill("/htsrc/app", 1, 4)
    sh("zfs snapshot htsrc/app@s4")
    _check, applied = converge("zfs_replicate", diff=False, args=args, host_state=peer_snaps())
    send = applied["commands"][0]
    assert send[send.index("-i"):send.index("-i") + 3] == ["-i", "htsrc/app#s3", "htsrc/app@s4"]
    assert guid("pdst/app@s4", remote=True) == guid("htsrc/app@s4")
    # The source keeps its newest bookmarks only (here 1: the newest sent snapshot's).

    def bookmarks():
        return sh("zfs list -H -t bookmark -o name -r htsrc")
    assert bookmarks() == "htsrc/app#s2\nhtsrc/app#s3\nhtsrc/app#s4\n"
    _check, applied = converge("zfs_replicate", diff=False, args=dict(args, keep_bookmarks=1), host_state=bookmarks)
    assert applied["commands"] == [["zfs", "destroy", "htsrc/app#s2"], ["zfs", "destroy", "htsrc/app#s3"]]
    assert bookmarks() == "htsrc/app#s4\n"


def test_bandwidth_caps_each_stream(pools):
    """A limit by time of day (a window covering the whole day here): the stream, 1 MiB and a
    little, can't have gone faster than 256 KiB a second."""
    sh("zfs create htsrc/bw")
    fill("/htsrc/bw", 1, 1)
    sh("zfs snapshot htsrc/bw@s1")
    r = run_module("zfs_replicate", {"source": "htsrc/bw", "target": "pdst/bw", "target_host": PEER,
                                     "bandwidth": {"00:00-24:00": "256K"}})
    assert r["changed"] and r["bytes"] > 2**20
    assert r["seconds"] >= r["bytes"] / (256 << 10) * 0.95
    assert guid("pdst/bw@s1", remote=True) == guid("htsrc/bw@s1")


def test_encrypted_source_goes_raw_and_the_target_holds_no_key(pools):
    r = subprocess.run(["zfs", "create", "-o", "encryption=on", "-o", "keyformat=hex", "-o", "keylocation=prompt",
                        "htsrc/sec"], input=HEXKEY + "\n", text=True, capture_output=True, check=False)
    assert r.returncode == 0, r.stderr
    fill("/htsrc/sec", 2, 1)
    sh("zfs snapshot htsrc/sec@s1")
    args = {"source": "htsrc/sec", "target": "pdst/sec", "target_host": PEER}
    _check, applied = converge("zfs_replicate", diff=False, args=args, host_state=peer_snaps("pdst/sec"))
    assert "-w" in applied["commands"][0]
    assert peer("zfs get -H -o value keystatus,encryption pdst/sec").split() == ["unavailable", "aes-256-gcm"]
    assert "encryption key not loaded" in peer("zfs mount pdst/sec 2>&1; true")
    assert peer("zfs get -H -o value mounted pdst/sec").strip() == "no"
    # The target holds no key, so its content can't be read there: verify: content says so.
    r = run_module("zfs_replicate", dict(args, verify="content"))
    assert r.get("failed") and "needs its key loaded for verify: content" in r["msg"], r
    assert "helix-verify" not in peer("zfs list -H -o name -r pdst"), "the verification clone was left behind"
    # verify: auto falls back to the guid chain there.
    r = run_module("zfs_replicate", dict(args, verify="auto"))
    assert "failed" not in r and "sha256" not in r["verified"][0], r
    # With the key loaded on the target, the content digests of both sides match.
    p = subprocess.run(["ssh", PEER, "zfs load-key pdst/sec"], input=HEXKEY + "\n", text=True, capture_output=True,
                       check=False)
    assert p.returncode == 0, p.stderr
    args["verify"] = "content"
    r = run_module("zfs_replicate", args)
    assert "failed" not in r, r.get("msg", r)
    assert r["changed"] is False and len(r["verified"][0]["sha256"]) == 64


def test_content_verify_of_a_volume_reads_its_blocks(pools):
    # A volume's clone has no mountpoint: the digest reads its device, on both sides.
    sh("zfs create -V 8M htsrc/vol && udevadm settle && head -c 8M /dev/urandom > /dev/zvol/htsrc/vol && sync")
    sh("zfs snapshot htsrc/vol@s1")
    want = sh("sha256sum /dev/zvol/htsrc/vol").split()[0]
    r = run_module("zfs_replicate", {"source": "htsrc/vol", "target": "pdst/vol", "target_host": PEER,
                                     "verify": "content"})
    assert "failed" not in r, r.get("msg")
    assert r["verified"][0]["sha256"] == want
    assert "helix-verify" not in sh("zfs list -H -o name -r htsrc") + peer("zfs list -H -o name -r pdst")


# Kills the receive on the target mid-stream, from one ssh session there (no round trip slows
# it). Once the receive has read AFTER bytes, the sshd feeding it is stopped (the receive starves,
# so the send can't finish meanwhile), then it waits until the txg open at that moment has synced
# (its line in the pool's txgs kstat says C): progress is then on disk and a resume token will
# exist. Between finding the receive and stopping its feeder only bash builtins run: a fork per
# poll on a one-vCPU guest busy receiving once let the whole stream through unseen.
_KILLER = """for i in $(seq 1 2400); do
  pid=$(pgrep -f '[r]eceive -s -u' | head -1)
  [ -n "$pid" ] && break
  sleep 0.05
done
[ -n "$pid" ] || exit 1
feeder=$pid comm=
while [ "$comm" != sshd ]; do
  read -r -a stat < /proc/$feeder/stat && feeder=${stat[3]} && read -r comm < /proc/$feeder/comm || exit 1
done
rchar=0
while [ "$rchar" -lt %(after)d ]; do
  { while read -r key value; do if [ "$key" = rchar: ]; then rchar=$value; fi; done < /proc/$pid/io; } 2>/dev/null || exit 1
done
kill -STOP $feeder
t=$(awk 'END {print $1}' /proc/spl/kstat/zfs/%(pool)s/txgs)
for j in $(seq 1 400); do
  awk -v t="$t" '$1 == t && $3 == "C" {found = 1} END {exit !found}' /proc/spl/kstat/zfs/%(pool)s/txgs && break
  sleep 0.05
done
kill -9 $pid; kill -CONT $feeder"""


def _interrupted_replicate(args, after=2 << 20):
    """Run the module in another process, kill the receive on the target mid-stream (see
    ``_KILLER``), and return that run's result. The target syncs a txg every second (see
    ``fast_txgs``), so the wait for a synced txg after ``after`` bytes is short."""
    pool = args["target"].split("/")[0]
    killer = subprocess.Popen(["ssh", PEER, _KILLER % {"after": after, "pool": pool}],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc = _background_replicate(args)
    out, err = proc.communicate(timeout=600)
    killer.communicate(timeout=120)
    assert out.strip(), "the background run printed nothing: %s" % err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def fast_txgs():
    """A resume token records synced progress only; in a long send txgs sync along the way. The
    tests' sends are short, so the target syncs every second instead of every 5."""
    old = peer("cat /sys/module/zfs/parameters/zfs_txg_timeout").strip()
    peer("echo 1 > /sys/module/zfs/parameters/zfs_txg_timeout")
    yield
    peer("echo %s > /sys/module/zfs/parameters/zfs_txg_timeout" % old)


def _background_replicate(args):
    code = ("import json, sys; sys.path[:0] = %r; from harness import run_module; "
            "print(json.dumps(run_module('zfs_replicate', json.loads(sys.argv[1]))))" % sys.path[:3])
    return subprocess.Popen([sys.executable, "-c", code, json.dumps(args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=os.path.dirname(os.path.abspath(__file__)))


def test_interrupted_sends_resume_from_the_token(pools, fast_txgs):
    # Four interruptions, each resumed; each resumed snapshot is verified by guid, and the last
    # by content too (a digest of the whole tree each time made this test 10 minutes of CI).
    sh("zfs create -o compression=off htsrc/big")
    base = {"source": "htsrc/big", "target": "pdst/big", "target_host": PEER, "flags": ["large_blocks", "embedded"]}
    resumed, rounds = 0, 4
    for i in range(rounds):
        args = dict(base, verify="content" if i == rounds - 1 else "guid")
        fill("/htsrc/big", 16, i)
        sh("zfs snapshot htsrc/big@r%d" % i)
        first = _interrupted_replicate(args)
        token = peer("zfs get -H -o value receive_resume_token pdst/big 2>/dev/null; true").strip()
        assert first.get("failed"), "the send finished before it was interrupted (iteration %d)" % i
        assert token not in ("", "-"), "no resume token after the interrupted receive (iteration %d)" % i
        # Once only "zfs receive failed: rc=255".
        assert "run the task again to resume from it" in first["msg"], first["msg"]
        # The snapshot the token needs is held until the resume, so it can't be destroyed meanwhile.
        assert "helix-resume" in sh("zfs holds -H htsrc/big@r%d" % i)
        if i == 0:
            gone = run_module("zfs_snapshot", {"datasets": ["htsrc/big"], "name": "r0", "state": "absent"})
            assert gone.get("failed") and "is held" in gone["msg"] and gone["changed"] is False, gone
        r = run_module("zfs_replicate", args)
        assert "failed" not in r, r.get("msg", r)
        assert r["resumed"] == "yes" and r["sent"][0]["kind"] == "resume", r["sent"]
        assert r["verified"][0]["snapshot"] == "r%d" % i
        assert r["verified"][0]["guid"] == guid("htsrc/big@r%d" % i) == guid("pdst/big@r%d" % i, remote=True)
        if args["verify"] == "content":
            assert len(r["verified"][0]["sha256"]) == 64
        resumed += 1
        assert "helix-resume" not in sh("zfs list -H -t snapshot -o name -r htsrc/big | xargs zfs holds -H")
        again = run_module("zfs_replicate", args)
        assert (again["changed"], again["resumed"]) == (False, "no")
    assert resumed == rounds


def test_a_stale_token_is_aborted_and_the_send_starts_over(pools, fast_txgs):
    sh("zfs create -o compression=off htsrc/st")
    fill("/htsrc/st", 16, 1)
    sh("zfs snapshot htsrc/st@a")
    args = {"source": "htsrc/st", "target": "pdst/st", "target_host": PEER}
    first = _interrupted_replicate(args)
    token = peer("zfs get -H -o value receive_resume_token pdst/st").strip()
    assert first.get("failed") and token != "-"
    # A receive still owns the partial state (a dead sender's, whose connection stayed open): a
    # resume meanwhile says so, and the next run after it ended resumes.
    holder = subprocess.Popen("zfs send -t %s | { head -c 65536; sleep 300; } | ssh %s zfs receive -s pdst/st"
                              % (token, PEER), shell=True, start_new_session=True)
    for _try in range(60):
        if peer("pgrep -f '[z]fs receive -s pdst/st' >/dev/null && echo y; true").strip() == "y":
            break
        sh("sleep 0.5")
    busy = run_module("zfs_replicate", args)
    os.killpg(holder.pid, 9)
    holder.wait()
    peer("pkill -9 -f '[z]fs receive -s pdst/st'; true")  # as sshd ends a dead client's session
    assert busy.get("failed") and "an earlier zfs receive into pdst/st is still running on the target" in busy["msg"], busy
    for _try in range(60):
        if peer("pgrep -f '[z]fs receive -s pdst/st' >/dev/null || echo gone; true").strip() == "gone":
            break
        sh("sleep 0.5")
    # The snapshot the token points at goes away on the source (its resume hold released on
    # purpose): the token is stale.
    sh("zfs release helix-resume htsrc/st@a && zfs destroy htsrc/st@a && zfs snapshot htsrc/st@b")
    r = run_module("zfs_replicate", args)
    assert "failed" not in r, r.get("msg", r)
    assert r["resumed"] == "aborted" and ["ssh", PEER, "zfs", "receive", "-A", "pdst/st"] in r["commands"]
    assert guid("pdst/st@b", remote=True) == guid("htsrc/st@b")


def test_prune_target_drops_what_the_source_pruned(pools):
    # Issue 16 (A7): a replica kept every snapshot it ever received.
    sh("zfs create htsrc/pr && zfs snapshot htsrc/pr@s1 && zfs snapshot htsrc/pr@s2 && zfs snapshot htsrc/pr@s3")
    base = {"source": "htsrc/pr", "target": "pdst/pr", "target_host": PEER}
    run_module("zfs_replicate", base)
    sh("zfs destroy htsrc/pr@s1,s2 && zfs snapshot htsrc/pr@s4")
    peer("zfs hold keep pdst/pr@s2")
    r = run_module("zfs_replicate", base)  # without the option, nothing goes
    assert r["destroyed"] == [] and len(r["sent"]) == 1

    def target():
        return sorted(line.split("@")[1] for line in peer("zfs list -H -t snapshot -o name -r pdst/pr").split())
    assert target() == ["s1", "s2", "s3", "s4"]
    _check, applied = converge("zfs_replicate", dict(base, prune_target=True), target, diff=False)
    # s1 goes; s2 is held; s3 and s4 the source still has.
    assert applied["destroyed"] == ["pdst/pr@s1"] and applied["commands"] == [["ssh", PEER, "zfs", "destroy", "pdst/pr@s1"]]
    assert target() == ["s2", "s3", "s4"]


def test_divergence_fails_naming_it_unless_rollback(pools):
    sh("zfs create htsrc/app && zfs snapshot htsrc/app@s1")
    args = {"source": "htsrc/app", "target": "pdst/app", "target_host": PEER}
    assert run_module("zfs_replicate", args)["changed"] is True
    peer("zfs snapshot pdst/app@mine")
    sh("zfs snapshot htsrc/app@s2")
    r = run_module("zfs_replicate", args)
    assert r.get("failed") and "has diverged (snapshots newer than the common s1: mine)" in r["msg"]
    assert "rollback: true" in r["msg"]
    assert peer_snaps()().count("@mine") == 1, "a normal run destroyed a target-only snapshot"
    args["rollback"] = True
    check, applied = converge("zfs_replicate", diff=False, args=args, host_state=peer_snaps())
    assert check["destroyed"] == applied["destroyed"] == ["pdst/app@mine"]
    assert applied["commands"][0] == ["ssh", PEER, "zfs", "rollback", "-r", "pdst/app@s1"]
    assert "@mine" not in peer_snaps()()


def test_streams_to_a_directory_then_restore(pools, tmp_path):
    d = str(tmp_path / "dr")
    sh("zfs create htsrc/db")
    fill("/htsrc/db", 2, 1)
    sh("zfs snapshot htsrc/db@d1")
    args = {"source": "htsrc/db", "target_dir": d}
    _check, applied = converge("zfs_replicate", diff=False, args=args,
                               host_state=lambda: sorted(os.listdir(d)) if os.path.isdir(d) else [])
    fill("/htsrc/db", 1, 2)
    sh("zfs snapshot htsrc/db@d2")
    converge("zfs_replicate", diff=False, args=args, host_state=lambda: sorted(os.listdir(d)))
    with open(os.path.join(d, "manifest.json")) as f:
        m = json.load(f)
    assert [(e["base"], e["snapshot"]) for e in m["streams"]] == [(None, "d1"), ("d1", "d2")]
    assert all(len(e["sha256"]) == 64 and e["size"] > 0 for e in m["streams"])
    restore = {"source": "htsrc/db", "restore_from": d, "target": "htsrc/restored"}
    converge("zfs_replicate", diff=False, args=restore,
             host_state=lambda: sh("zfs list -H -t snapshot -o name -r htsrc/restored 2>/dev/null; true"))
    assert guid("htsrc/restored@d2") == guid("htsrc/db@d2")
    sh("zfs set mountpoint=/htsrc/restored htsrc/restored && zfs mount htsrc/restored")
    assert sh("cd /htsrc/db && sha256sum blob* note* | sort") == sh("cd /htsrc/restored && sha256sum blob* note* | sort")
    # A damaged stream file is refused before anything of it is received.
    with open(os.path.join(d, m["streams"][1]["file"]), "r+b") as f:
        f.seek(100)
        f.write(b"\0\1\2\3")
    r = run_module("zfs_replicate", dict(restore, target="htsrc/again"))
    assert r.get("failed") and "does not match its manifest sha256" in r["msg"]


def test_stream_files_of_look_alike_datasets_stay_apart(pools, tmp_path):
    # tank/a_b and tank/a/b once shared a file (/ became _): one chain was overwritten.
    d = str(tmp_path / "dr")
    for ds in ("htsrc/a", "htsrc/a/b", "htsrc/a_b"):
        sh("zfs create %s" % ds)
        fill("/" + ds, 1, ds.replace("/", "-"))
    sh("zfs snapshot -r htsrc@s1")
    r = run_module("zfs_replicate", {"source": "htsrc", "target_dir": d, "recursive": True})
    assert "failed" not in r, r.get("msg")
    with open(os.path.join(d, "manifest.json")) as f:
        files = [e["file"] for e in json.load(f)["streams"]]
    assert len(set(files)) == len(files) == 4, files
    for ds in ("htsrc/a/b", "htsrc/a_b"):
        new = "htsrc/r" + ds.replace("/", "-")
        r = run_module("zfs_replicate", {"source": ds, "restore_from": d, "target": new})
        assert "failed" not in r, r.get("msg")
        assert guid(new + "@s1") == guid(ds + "@s1")


def test_content_verify_leaves_a_dataset_named_like_its_clone_alone(pools):
    # The verify clone was pool/helix-verify-<pid>: "already exists" was tolerated, then that
    # dataset (not the run's) was read and destroyed. run_module runs in this process: same pid.
    mine = "htsrc/helix-verify-%d" % os.getpid()
    sh("zfs create %s && echo keep > /%s/note" % (mine, mine))
    sh("zfs create htsrc/app")
    fill("/htsrc/app", 1, 1)
    sh("zfs snapshot htsrc/app@s1")
    r = run_module("zfs_replicate", {"source": "htsrc/app", "target": "htsrc/copy", "verify": "content"})
    assert "failed" not in r, r.get("msg")
    assert len(r["verified"][0]["sha256"]) == 64
    assert sh("cat /%s/note" % mine) == "keep\n"
    assert "helix-verify" not in sh("zfs list -H -o name -r htsrc | grep -v '^%s$'; true" % mine)


@pytest.mark.parametrize("args", [
    {"source": "htsrc/app", "target": "htsrc/app"},
    {"source": "htsrc/app", "target": "htsrc/app/copy"},
    {"source": "htsrc/app", "target": "htsrc", "rollback": True},
], ids=["itself", "inside", "above"])
def test_a_target_in_the_source_tree_is_refused(pools, args):
    # Once: "diverged ... set rollback: true", and with rollback the source was rolled back.
    sh("zfs create htsrc/app && zfs snapshot htsrc/app@s1 && zfs create htsrc/app/sub && zfs snapshot -r htsrc@s2")
    before = sh("zfs list -Hp -t all -o name,guid,written -r htsrc")
    r = run_module("zfs_replicate", args)
    assert r.get("failed") and "in the same tree on this host; nothing was done" in r["msg"], r
    assert sh("zfs list -Hp -t all -o name,guid,written -r htsrc") == before


@pytest.mark.parametrize("text", ["{not json", '{"streams": [{"dataset": "htsrc"}]}', "[]"],
                         ids=["not-json", "entry-missing-keys", "not-a-manifest"])
def test_a_corrupt_manifest_is_a_clear_error(pools, tmp_path, text):
    # Once a JSONDecodeError's or KeyError's traceback.
    sh("zfs snapshot htsrc@s1")
    (tmp_path / "manifest.json").write_text(text)
    for args in ({"source": "htsrc", "target_dir": str(tmp_path)},
                 {"source": "htsrc", "restore_from": str(tmp_path), "target": "htsrc/r"}):
        r = run_module("zfs_replicate", args)
        assert r.get("failed") and "manifest.json is not" in r["msg"], r
    assert sorted(os.listdir(tmp_path)) == ["manifest.json"]


def test_a_target_host_is_never_an_ssh_option(pools):
    sh("rm -f /tmp/helix-pwned && zfs snapshot htsrc@s1")
    r = run_module("zfs_replicate", {"source": "htsrc", "target": "pdst/x",
                                     "target_host": "-oProxyCommand=touch /tmp/helix-pwned"})
    assert r.get("failed") and "invalid target_host" in r["msg"], r
    assert not os.path.exists("/tmp/helix-pwned"), "ssh ran a ProxyCommand from target_host"


@pytest.mark.parametrize("args,words", [
    ({"source": "htsrc/x@y", "target": "pdst/x"}, "invalid source dataset name"),
    ({"source": "htsrc/nosuch", "target": "pdst/x", "target_host": PEER}, "no such dataset: htsrc/nosuch"),
    ({"source": "htsrc", "target": "pdst/x", "target_dir": "/tmp/x"}, "mutually exclusive: target|target_dir"),
    ({"source": "htsrc", "target": "pdst/x", "target_host": PEER}, "htsrc has no snapshot to send"),
], ids=["at-sign", "missing-source", "two-targets", "no-snapshot"])
def test_bad_input_is_a_clear_error_and_changes_nothing(pools, args, words):
    before = peer("zfs list -H -t all -o name -r pdst")
    r = run_module("zfs_replicate", args)
    assert r.get("failed") and words in r["msg"], r
    assert peer("zfs list -H -t all -o name -r pdst") == before
