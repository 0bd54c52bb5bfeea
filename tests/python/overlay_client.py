"""A client of the overlay's gRPC API written against Python's grpcio, a library this project
did not write: what the seed's client.py and test_system.py do, plus a burst past capacity.

    python overlay_client.py --proto proto/overlay.proto --stubs DIR \
        --process A=127.0.0.1:50151 --process B=127.0.0.1:50152 ... --leader A --burst 150

Generates the stubs from the proto file with grpcio-tools, then runs four steps against the
running processes and prints one JSON line per step; exits 1 at the first step that fails.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def generate_stubs(proto, out):
    os.makedirs(out, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", os.path.dirname(proto),
         "--python_out=" + out, "--grpc_python_out=" + out, proto],
        check=True,
    )
    sys.path.insert(0, out)


def fail(step, why):
    print(json.dumps({"step": step, "ok": False, "why": why}), flush=True)
    sys.exit(1)


def report(step, **facts):
    print(json.dumps({"step": step, "ok": True, **facts}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proto", required=True)
    ap.add_argument("--stubs", required=True)
    ap.add_argument("--process", action="append", required=True, help="NAME=HOST:PORT")
    ap.add_argument("--leader", required=True)
    ap.add_argument("--burst", type=int, default=150)
    ap.add_argument("--deadline-ms", type=int, default=5000)
    args = ap.parse_args()
    generate_stubs(args.proto, args.stubs)
    import grpc
    import overlay_pb2
    import overlay_pb2_grpc

    addrs = dict(p.split("=", 1) for p in args.process)
    channels = {n: grpc.insecure_channel(a) for n, a in addrs.items()}
    for name, ch in channels.items():
        try:
            grpc.channel_ready_future(ch).result(timeout=10)
        except grpc.FutureTimeoutError:
            fail("connect", f"process {name} at {addrs[name]} did not accept a gRPC channel")
    stubs = {n: overlay_pb2_grpc.OverlayStub(ch) for n, ch in channels.items()}
    leader = stubs[args.leader]
    timeout_s = args.deadline_ms / 1000 + 2

    # 1. A single request (the seed's client.py).
    reply = leader.Forward(
        overlay_pb2.ForwardRequest(payload=b"hello", team="green", deadline_ms=args.deadline_ms),
        timeout=timeout_s,
    )
    if reply.outcome != "done":
        fail("single", f"outcome {reply.outcome!r}: {reply.reason}")
    if reply.payload != b"hello" or not reply.path or reply.path[0] != args.leader:
        fail("single", f"payload {reply.payload!r}, path {list(reply.path)}")
    if reply.path[-1] != reply.worker or len(set(reply.path)) != len(reply.path):
        fail("single", f"path {list(reply.path)} does not end at worker {reply.worker} once")
    report("single", worker=reply.worker, path=list(reply.path), latency_ms=reply.latency_ms)

    # 2. Queue status (the seed's `client.py HOST PORT check`), and every process's numbers.
    metrics = {}
    for name, stub in stubs.items():
        m = stub.GetMetrics(overlay_pb2.MetricsRequest(), timeout=5)
        if m.process != name:
            fail("metrics", f"asked {name}, answered by {m.process!r}")
        metrics[name] = {"queue_len": m.queue_len, "inflight": m.inflight,
                         "processed": m.processed, "refused": m.refused, "p50_ms": m.p50_ms}
    if metrics[args.leader]["processed"] < 1 or metrics[reply.worker]["processed"] < 1:
        fail("metrics", f"the single request is not counted: {metrics}")
    report("metrics", metrics=metrics)

    # 3. Ten concurrent requests (the seed's test_system.py).
    def one(i):
        team = "green" if i % 2 == 0 else "pink"
        return leader.Forward(
            overlay_pb2.ForwardRequest(payload=str(i).encode(), team=team,
                                       deadline_ms=args.deadline_ms),
            timeout=timeout_s,
        )
    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(one, range(10)))
    outcomes = [r.outcome for r in replies]
    if outcomes != ["done"] * 10:
        fail("concurrent", f"outcomes {outcomes}")
    if [r.payload for r in replies] != [str(i).encode() for i in range(10)]:
        fail("concurrent", "answers do not match their requests")
    report("concurrent", workers=sorted({r.worker for r in replies}))

    # 4. A burst past capacity: every request answered, some "busy" at once, none hangs.
    start = time.monotonic()
    futures = [
        leader.Forward.future(
            overlay_pb2.ForwardRequest(payload=b"b", deadline_ms=args.deadline_ms),
            timeout=timeout_s,
        )
        for _ in range(args.burst)
    ]
    counts = {}
    busy_ms = []
    for f in futures:
        try:
            r = f.result()
        except grpc.RpcError as e:
            fail("burst", f"a request got no answer: {e.code()} {e.details()}")
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
        if r.outcome == "busy":
            busy_ms.append(r.latency_ms)
            if "queue is full" not in r.reason:
                fail("burst", f"busy without its reason: {r.reason!r}")
    took = time.monotonic() - start
    if counts.get("busy", 0) == 0 or counts.get("done", 0) == 0:
        fail("burst", f"expected some done and some busy: {counts}")
    if sum(counts.values()) != args.burst:
        fail("burst", f"{sum(counts.values())} answers for {args.burst} requests")
    report("burst", counts=counts, seconds=round(took, 2),
           busy_max_ms=round(max(busy_ms), 1))

    # A malformed request gets a gRPC error, and the process goes on.
    try:
        leader.Forward(overlay_pb2.ForwardRequest(team="no-such-team"), timeout=5)
        fail("malformed", "an unknown team was taken")
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
            fail("malformed", f"{e.code()} {e.details()}")
        details = e.details()
    leader.GetMetrics(overlay_pb2.MetricsRequest(), timeout=5)
    report("malformed", details=details)


if __name__ == "__main__":
    main()
