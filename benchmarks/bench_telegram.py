"""Telegram figures: the real bot process (`bot.py --demo`) talking HTTP to the local fake Bot API.

Prints figures and, last, one JSON line. Everything goes through FakeTelegram (standins/telegram_api.py),
which runs on a thread of this process, and the bot, which runs as a subprocess exactly as an operator starts it:

1. round trip of /status from one admin, sequentially (update injected into the fake -> reply recorded by it);
2. 20 users sending 500 commands concurrently (/status, /pnl, /positions, /params, /help): every command must get
   exactly one reply, of the right kind, in the right chat, plus its chart after /pnl and /positions (lost and
   duplicated replies and missing charts are counted; a message that answers no command stops the run);
   latency and timeouts (no answer within 5 s) per command, and the time until the last chart is delivered;
   and how many of the charts went up as bytes (the rest by the file_id Telegram gave the same picture);
3. the bot's memory after the load (VmRSS and peak VmHWM from /proc/<pid>/status);
4. baseline, measured in the same run: the same round trip through a trivial python-telegram-bot echo bot (one
   CommandHandler that answers "ok", same Application options as the real bot) in its own process, against the
   same fake: the transport floor (long poll, PTB's dispatch, one sendMessage), so the difference is the bot's work;
   the echo bot also takes the same concurrent load, which shows the ceiling of the harness, the fake and PTB.

Finally the bot gets SIGTERM and must exit 0 within 15 s. Before the bot starts, the demo database is seeded with
one paper rebalance (`bot.py --demo --db ... rebalance`), so /positions and /pnl have holdings to show.

The sequential_* and load_* latencies are to the text reply; /pnl's and /positions' charts follow it, drawn in
the bot's heavy lane, and load_charts_done_s is when the last of them arrived.

Latency is measured in this process with time.perf_counter: from just before FakeTelegram.send_text to the moment a
watcher thread, blocked in FakeTelegram.wait_for, is woken by the fake recording the reply: the text message that
answers that command by its content (telegram_replies.Conversation), not whatever the chat received next. As a
cross-check the same round trips are also taken on the fake's own clock (the time it logged the sendMessage call).

    python benchmarks/bench_telegram.py [--sequential 200] [--users 20] [--commands 500]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.installed import BOT  # noqa: E402

from benchmarks.telegram_replies import (CHART_COMMANDS, Conversation, UnexpectedReply, Watcher,  # noqa: E402
                                         classify)

TOKEN = "7000001:BENCH-fake-token"
NOTIFY_CHAT = -1009000000001  # a supergroup: pushes never land in a user's chat
ECHO_USER = 9001  # the echo bot's user: a chat of its own, and a stranger to the real bot
LOAD_COMMANDS = ("/status", "/pnl", "/positions", "/params", "/help")
# Issue 17's row: 20 users x 500 commands at >= 200 cmd/s, p95 <= 150 ms, <= 150 MB (the echo bot beside it).
TARGETS = {"status_rtt_ms_p95": 50, "lost": 0, "duplicated": 0, "rss_mb": 150, "sigterm_exit_s": 15,
           "load_throughput_cmd_per_s": 200, "load_rtt_ms_p95": 150}


# ----- the echo bot (this file run with --echo-bot, in its own process: only python-telegram-bot loaded) -----
def echo_bot() -> int:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

    async def run() -> None:
        # The real bot's Application options (handlers/telegram_app.py): base URL and concurrent updates.
        app = (ApplicationBuilder().token(os.environ["TELEGRAM_BOT_TOKEN"])
               .base_url(os.environ["TELEGRAM_API_BASE_URL"]).concurrent_updates(True).build())

        async def ok(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.effective_chat is not None
            await context.bot.send_message(update.effective_chat.id, "ok")

        app.add_handler(CommandHandler("status", ok))
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        assert app.updater is not None
        async with app:
            await app.start()
            await app.updater.start_polling(timeout=10, allowed_updates=["message", "callback_query"])
            await stop.wait()
            await app.updater.stop()
            await app.stop()

    asyncio.run(run())
    return 0


def pct(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(samples: list[float]) -> dict:
    return {"n": len(samples), "p50": statistics.median(samples), "p95": pct(samples, 95), "max": max(samples)}


def proc_memory(pid: int) -> dict:
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024  # kB -> MiB
    return fields


def sequential(fake, chat: Conversation, text: str, n: int, timeout: float = 10.0) -> tuple[list, list, list]:
    """n round trips, one at a time: (perf_counter ms, wall-clock send times, replies matched to each)."""
    rtts, sent_at, replies = [], [], []
    for _ in range(n):
        sent_at.append(time.time())
        t0 = time.perf_counter()
        fake.send_text(chat.chat_id, text)
        stamp, msg = chat.reply_to(text, timeout)
        rtts.append((stamp - t0) * 1000)
        replies.append(msg)
    return rtts, sent_at, replies


def echo_kind(text: str) -> str:
    return "/status" if text == "ok" else "?"


def fake_clock_rtts(fake, chat_id: int, sent_at: list[float], first_call: int) -> list[float]:
    """The same sequential round trips on the fake's clock: send time -> the sendMessage it logged for the reply."""
    calls = [c for c in fake.calls[first_call:]
             if c.method.lower() == "sendmessage" and c.status == 200 and str(c.params.get("chat_id")) == str(chat_id)]
    return [(c.time - t) * 1000 for c, t in zip(calls, sent_at)]


def bot_env(fake, admins: list[int], viewers: list[int]) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "NOTIFY_")) and k not in ("LOG_LEVEL", "DB_PATH", "DEMO_DB_PATH")}
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.base_url, LOG_LEVEL="WARNING",
               TELEGRAM_ADMIN_IDS=",".join(map(str, admins)), TELEGRAM_VIEWER_IDS=",".join(map(str, viewers)),
               TELEGRAM_NOTIFY_CHAT_IDS=str(NOTIFY_CHAT), PYTHONUNBUFFERED="1",
               # The benchmark measures throughput, so the per-person rate limit is lifted (it is tested apart)
               TELEGRAM_COMMAND_BURST="100000", TELEGRAM_COMMANDS_PER_MINUTE="1000000")
    return env


def stop_process(proc: subprocess.Popen, limit: float = 15.0) -> tuple[int | None, float]:
    """SIGTERM, then wait up to `limit` seconds: (exit code or None if still running, seconds taken)."""
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        code = None
    return code, time.perf_counter() - t0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_lines(path: Path) -> list[str]:
    return [line.rstrip() for line in path.read_text(errors="replace").splitlines() if line.strip()]


# ----- phases -----
def bench_echo(fake, watcher: Watcher, tmp: Path, n: int, n_users: int, n_commands: int) -> dict:
    err = tmp / "echo.stderr"
    with open(err, "w") as stderr:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--echo-bot"], cwd=ROOT,
                                env=bot_env(fake, [ECHO_USER], []), stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        chat = Conversation(watcher, ECHO_USER, proc, echo_kind, frozenset())
        t0 = time.perf_counter()
        sequential(fake, chat, "/status", 1, timeout=30)  # waits for its first poll
        first_reply_s = time.perf_counter() - t0
        sequential(fake, chat, "/status", 20)  # warm-up
        first_call = len(fake.calls)
        rtts, sent_at, _ = sequential(fake, chat, "/status", n)
        fake_ms = fake_clock_rtts(fake, ECHO_USER, sent_at, first_call)
        watcher.settle(quiet=0.3, limit=3)
        chat.finish()
        # The same concurrent load through the echo bot (its own users, 90xx): the harness's and PTB's ceiling.
        users = [ECHO_USER + 1 + i for i in range(n_users)]
        crowd = load(fake, watcher, proc, users, n_commands, ("/status",), echo_kind)
        memory = proc_memory(proc.pid)
    finally:
        code, _ = stop_process(proc)
    return {"rtt": summary(rtts), "fake_clock": summary(fake_ms), "first_reply_s": first_reply_s,
            "rss_mb": memory["VmRSS"], "exit": code, "stderr": log_lines(err),
            "load": crowd}


def no_env_file(db: Path) -> str:
    """A settings file that cannot exist (beside the run's own temporary database): the bot reads none."""
    return str(db.parent / "absent.env")


def seed(db: Path, env: dict) -> float:
    """One paper rebalance in the demo database, so /positions and /pnl have something to show."""
    t0 = time.perf_counter()
    done = subprocess.run([*BOT, "--env-file", no_env_file(db), "--demo", "--db", str(db),
                           "rebalance", "--now"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"seeding rebalance failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - t0


def load(fake, watcher: Watcher, proc: subprocess.Popen, users: list[int], total: int,
         commands: tuple[str, ...] = LOAD_COMMANDS, kind_of=classify, charts: frozenset = CHART_COMMANDS) -> dict:
    """Every user in its own thread, sending its commands one after the other (a person waits for the answer).

    Each reply is matched to its command as it comes (a late chart is not the next command's answer); afterwards
    each chat's messages are counted by content against what it asked. Any unexpected message fails the run.
    """
    rng = random.Random(7)
    mix = [commands[i % len(commands)] for i in range(total)]
    rng.shuffle(mix)
    plan = {u: mix[i::len(users)] for i, u in enumerate(users)}
    sent: dict[int, Counter[str]] = {u: Counter() for u in users}
    latencies: dict[str, list[float]] = {c: [] for c in commands}
    timeouts: list[tuple[int, str]] = []
    mismatches: list[str] = []
    chats = {u: Conversation(watcher, u, proc, kind_of, charts) for u in users}
    before = {u: len(fake.messages_to(u)) for u in users}
    first_call = len(fake.calls)
    gate = threading.Barrier(len(users) + 1)

    def person(user: int) -> None:
        gate.wait()
        misses = 0
        for text in plan[user]:
            t0 = time.perf_counter()
            fake.send_text(user, text)
            sent[user][text] += 1
            try:
                stamp, _ = chats[user].reply_to(text, 5.0)
            except TimeoutError:  # counted; the accounting below decides lost or merely late
                timeouts.append((user, text))
                misses += 1
                if misses == 3:  # this person gives up: keeps a broken bot from stretching the run
                    return
                continue
            except UnexpectedReply as err:
                mismatches.append(str(err))
                return
            except RuntimeError:  # the bot died: the accounting below shows what went missing
                return
            misses = 0
            latencies[text].append((stamp - t0) * 1000)

    threads = [threading.Thread(target=person, args=(u,), name=f"user-{u}") for u in users]
    for t in threads:
        t.start()
    bot_cpu0, own_cpu0 = cpu_seconds(proc.pid), time.process_time()
    gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    charts_s = charts_delivered(fake, before, sent, charts, limit=60) - t0
    bot_cpu, own_cpu = cpu_seconds(proc.pid) - bot_cpu0, time.process_time() - own_cpu0
    watcher.settle(quiet=1.5, limit=20)  # late and duplicate replies get their chance to show up
    for chat in chats.values():
        try:
            chat.finish()
        except UnexpectedReply as err:
            mismatches.append(str(err))
    counts = count_replies(fake, before, sent, commands, kind_of, charts)
    # Charts sent, and how many of them carried the picture's bytes (the rest went by Telegram's file_id).
    photos = [c for c in fake.calls[first_call:] if c.method.lower() == "sendphoto" and c.status == 200]
    counts.update(chart_sends=len(photos), chart_uploads=sum(1 for c in photos if c.files))
    if mismatches or counts["unexpected"]:
        raise UnexpectedReply(f"{len(mismatches)} replies matched no command, {counts['unexpected']} messages "
                              f"were unexpected:\n" + "\n".join(mismatches[:5] + counts["unexpected_samples"]))
    every = [x for xs in latencies.values() for x in xs]
    return {"sent": sum(sum(c.values()) for c in sent.values()), **counts, "timeouts": len(timeouts),
            "timeouts_by_command": dict(Counter(text for _, text in timeouts)),
            "wall_s": wall, "charts_done_s": charts_s, "bot_cpu_s": bot_cpu, "bench_cpu_s": own_cpu,
            "rtt": summary(every) if every else None,
            "rtt_by_command": {c: summary(xs) for c, xs in latencies.items() if xs}}


def charts_delivered(fake, before: dict[int, int], sent: dict[int, Counter[str]], charts: frozenset,
                     limit: float) -> float:
    """The perf_counter time by which every chat has as many photos as it asked charts for (or `limit` passed):
    the words may all be answered while charts are still being drawn, so the load is done only then."""
    due = {u: sum(asked[c] for c in charts) for u, asked in sent.items()}
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if all(sum(m.kind != "text" for m in fake.messages_to(u)[before[u]:]) >= n for u, n in due.items()):
            break
        time.sleep(0.25)
    return time.perf_counter()


def count_replies(fake, before: dict[int, int], sent: dict[int, Counter[str]], commands: tuple[str, ...],
                  kind_of, charts: frozenset) -> dict:
    """Each chat's messages since `before`, by content, against what it asked: texts per command, one chart
    photo per command in `charts`."""
    lost = duplicated = unexpected = charts_missing = 0
    samples: list[str] = []
    for u, asked in sent.items():
        messages = fake.messages_to(u)[before[u]:]
        got = Counter(kind_of(m.text) for m in messages if m.kind == "text")
        photos = sum(m.kind != "text" for m in messages)
        charts_due = sum(asked[c] for c in charts)
        lost += sum((asked - got).values())
        duplicated += sum(((got - asked) & Counter({c: 10**9 for c in commands})).values())
        strays = [m for m in messages if m.kind == "text" and kind_of(m.text) not in commands]
        unexpected += len(strays) + max(0, photos - charts_due)
        charts_missing += max(0, charts_due - photos)
        samples += [f"chat {u}: {m.text[:120]!r}" for m in strays][:5 - len(samples)]
    return {"lost": lost, "duplicated": duplicated, "unexpected": unexpected, "unexpected_samples": samples,
            "charts_missing": charts_missing}


def bench_bot(fake, watcher: Watcher, tmp: Path, n: int, n_users: int, n_commands: int) -> dict:
    n_admins = max(1, n_users // 4)
    admins = [1001 + i for i in range(n_admins)]
    viewers = [2001 + i for i in range(n_users - n_admins)]
    env = bot_env(fake, admins, viewers)
    db = tmp / "bench.sqlite"
    out: dict = {"seed_rebalance_s": seed(db, env)}
    err_path = tmp / "bot.stderr"
    with open(err_path, "w") as stderr:
        t0 = time.perf_counter()
        proc = subprocess.Popen([*BOT, "--env-file", no_env_file(db), "--demo", "--db", str(db)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        started = watcher.next(NOTIFY_CHAT, 30, proc)[1]
        if "started" not in started.text:
            raise RuntimeError(f"the bot's first push is not the start-up one: {started.text!r}")
        out["startup_s"] = time.perf_counter() - t0
        out["rss_mb_idle"] = proc_memory(proc.pid)["VmRSS"]
        admin = admins[0]

        # Warm-up, and proof that each load command answers with its own marker and no other's (the
        # conversation refuses any reply it cannot match, charts following /pnl and /positions aside).
        chat, by_command = Conversation(watcher, admin, proc), {}
        for text in LOAD_COMMANDS:
            by_command[text] = statistics.median(sequential(fake, chat, text, 10)[0])
        out["sequential_p50_by_command"] = by_command

        watcher.settle(quiet=0.3, limit=3)
        chat.finish()
        first_call = len(fake.calls)
        rtts, sent_at, _ = sequential(fake, chat, "/status", n)
        out["status_rtt"] = summary(rtts)
        out["status_fake_clock"] = summary(fake_clock_rtts(fake, admin, sent_at, first_call))
        watcher.settle(quiet=0.5, limit=5)
        chat.finish()  # a duplicate or stray reply fails the run here

        out["load"] = load(fake, watcher, proc, admins + viewers, n_commands)
        memory = proc_memory(proc.pid)
        out["rss_mb_after_load"], out["rss_mb_peak"] = memory["VmRSS"], memory["VmHWM"]
        pushes_before_stop = len(fake.messages_to(NOTIFY_CHAT))
    except (RuntimeError, TimeoutError) as err:
        tail = "\n".join(log_lines(err_path)[-15:]) or "(empty)"
        raise RuntimeError(f"{err}\nthe bot's stderr, last lines:\n{tail}") from err
    finally:
        out["sigterm_exit_code"], out["sigterm_exit_s"] = stop_process(proc)
    out["stopping_push"] = any("stopping" in m.text for m in fake.messages_to(NOTIFY_CHAT)[pushes_before_stop:])
    out["stderr"] = log_lines(err_path)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=200, help="sequential /status round trips (and echo)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--commands", type=int, default=500, help="commands in the concurrent load, in total")
    parser.add_argument("--echo-bot", action="store_true", help=argparse.SUPPRESS)  # the baseline's own process
    args = parser.parse_args()
    if args.echo_bot:
        return echo_bot()

    from standins.telegram_api import FakeTelegram

    t_run = time.perf_counter()
    fake = FakeTelegram(token=TOKEN)
    fake.start()
    watcher = Watcher(fake)
    watcher.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            echo = bench_echo(fake, watcher, Path(tmp), args.sequential, args.users, args.commands)
            bot = bench_bot(fake, watcher, Path(tmp), args.sequential, args.users, args.commands)
    finally:
        watcher.stop()
        fake.stop()
    run_s = time.perf_counter() - t_run

    st, ec, ld, el = bot["status_rtt"], echo["rtt"], bot["load"], echo["load"]
    warnings = [line for line in bot["stderr"] if " WARNING " in line]
    errors = [line for line in bot["stderr"] if line not in warnings]
    figures = {
        "status_rtt_ms_p50": st["p50"], "status_rtt_ms_p95": st["p95"], "status_rtt_ms_max": st["max"],
        "status_rtt_n": st["n"],
        "status_rtt_fake_clock_ms_p50": bot["status_fake_clock"]["p50"],
        "status_rtt_fake_clock_ms_p95": bot["status_fake_clock"]["p95"],
        "baseline_echo_rtt_ms_p50": ec["p50"], "baseline_echo_rtt_ms_p95": ec["p95"],
        "baseline_echo_rtt_ms_max": ec["max"],
        "baseline_echo_fake_clock_ms_p50": echo["fake_clock"]["p50"],
        "bot_own_work_ms_p50": st["p50"] - ec["p50"],
        **{f"sequential_{c[1:]}_ms_p50": v for c, v in bot["sequential_p50_by_command"].items()},
        "load_users": args.users, "load_commands": ld["sent"], "load_lost": ld["lost"],
        "load_duplicated": ld["duplicated"], "load_charts_missing": ld["charts_missing"],
        "load_timeouts": ld["timeouts"],
        **{f"load_{c[1:]}_timeouts": ld["timeouts_by_command"].get(c, 0) for c in LOAD_COMMANDS},
        "load_wall_s": ld["wall_s"], "load_throughput_cmd_per_s": ld["sent"] / ld["wall_s"],
        # until the last chart is delivered too: commands per second with every chart drawn and sent
        "load_charts_done_s": ld["charts_done_s"],
        "load_chart_sends": ld["chart_sends"], "load_chart_uploads": ld["chart_uploads"],
        "load_throughput_with_charts_cmd_per_s": ld["sent"] / ld["charts_done_s"],
        "load_rtt_ms_p50": ld["rtt"]["p50"] if ld["rtt"] else None,
        "load_rtt_ms_p95": ld["rtt"]["p95"] if ld["rtt"] else None,
        "load_rtt_ms_max": ld["rtt"]["max"] if ld["rtt"] else None,
        **{f"load_{c[1:]}_ms_{k}": s[k] for c, s in ld["rtt_by_command"].items() for k in ("p50", "p95")},
        "load_bot_cpu_ms_per_command": ld["bot_cpu_s"] * 1000 / ld["sent"],
        "load_harness_cpu_ms_per_command": ld["bench_cpu_s"] * 1000 / ld["sent"],
        "baseline_echo_load_wall_s": el["wall_s"], "baseline_echo_load_throughput_cmd_per_s": el["sent"] / el["wall_s"],
        "baseline_echo_load_rtt_ms_p50": el["rtt"]["p50"] if el["rtt"] else None,
        "baseline_echo_load_rtt_ms_p95": el["rtt"]["p95"] if el["rtt"] else None,
        "baseline_echo_load_bot_cpu_ms_per_command": el["bot_cpu_s"] * 1000 / el["sent"],
        "baseline_echo_load_lost": el["lost"] + el["timeouts"], "baseline_echo_load_duplicated": el["duplicated"],
        "bot_rss_mb_idle": bot["rss_mb_idle"], "bot_rss_mb_after_load": bot["rss_mb_after_load"],
        "bot_rss_mb_peak": bot["rss_mb_peak"], "baseline_echo_rss_mb": echo["rss_mb"],
        "bot_startup_s": bot["startup_s"], "seed_rebalance_s": bot["seed_rebalance_s"],
        "sigterm_exit_code": bot["sigterm_exit_code"], "sigterm_exit_s": bot["sigterm_exit_s"],
        "stopping_push_sent": bot["stopping_push"], "echo_exit_code": echo["exit"],
        "bot_stderr_warnings": len(warnings), "bot_stderr_other_lines": len(errors),
        "run_s": run_s,
    }
    figures = {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}
    for key, value in figures.items():
        print(f"{key:>40}: {value}")
    for line in (warnings + errors)[:10]:
        print(f"  bot stderr: {line[:200]}")
    for line in echo["stderr"][:5]:
        print(f"  echo stderr: {line[:200]}")
    checks = {"status_rtt_ms_p95": figures["status_rtt_ms_p95"] <= TARGETS["status_rtt_ms_p95"],
              "lost": ld["lost"] == 0 and ld["timeouts"] == 0, "duplicated": ld["duplicated"] == 0,
              "rss_mb": bot["rss_mb_peak"] <= TARGETS["rss_mb"],
              "load_throughput_cmd_per_s": figures["load_throughput_cmd_per_s"] >= TARGETS["load_throughput_cmd_per_s"],
              "load_rtt_ms_p95": (figures["load_rtt_ms_p95"] or math.inf) <= TARGETS["load_rtt_ms_p95"],
              "sigterm_exit": bot["sigterm_exit_code"] == 0 and bot["sigterm_exit_s"] <= TARGETS["sigterm_exit_s"]}
    figures["targets"] = TARGETS
    figures["met"] = checks
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
