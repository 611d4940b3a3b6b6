#!/usr/bin/env python3
"""Generate seed_data/ for `make demo`: users, friendships and four weeks of events.

Deterministic (fixed seed): running it again writes the same files. Event times are
anchored so that the last day of activity is ANCHOR_TODAY - 1; the demo loader shifts every
time by whole days so that this becomes "yesterday" on the day the demo runs.

    python scripts/make_seed_data.py
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "seed_data"
TZ = ZoneInfo("Asia/Shanghai")
ANCHOR_TODAY = date(2026, 11, 23)
DAYS = 28

USERS = [
    # user_id, name, how active (0..1), habits
    ("u-alice", "Alice 李", 1.0, {"walk", "metro", "pay", "box", "clothes", "cutlery", "invoice", "bill", "waybill"}),
    ("u-bob", "Bob 王", 0.8, {"walk", "bus", "pay", "box", "train", "paperless", "bill"}),
    ("u-chen", "Chen 陈", 0.9, {"walk", "metro", "pay", "clothes", "no_bag", "show", "bill"}),
    ("u-dan", "Dan 丹", 0.6, {"walk", "bus", "cutlery", "invoice", "toll"}),
    ("u-emma", "Emma 艾", 0.7, {"walk", "metro", "no_bag", "box", "hospital", "paperless"}),
    ("u-fang", "Fang 方", 0.5, {"walk", "pay", "cutlery", "waybill"}),
    ("u-gao", "Gao 高", 0.8, {"walk", "metro", "pay", "box", "clothes", "bill"}),
    ("u-hui", "Hui 慧", 0.4, {"walk", "bus", "no_bag"}),
    ("u-ivy", "Ivy 艾薇", 0.6, {"walk", "metro", "cutlery", "show", "invoice"}),
    ("u-jun", "Jun 俊", 0.3, {"walk", "pay"}),
    ("u-kai", "Kai 凯", 0.7, {"walk", "toll", "train", "pay", "paperless"}),
    ("u-lin", "Lin 林", 0.5, {"walk", "metro", "box", "cutlery"}),
]
FRIENDS = [
    ("u-alice", "u-bob"),
    ("u-alice", "u-chen"),
    ("u-alice", "u-dan"),
    ("u-alice", "u-emma"),
    ("u-alice", "u-gao"),
    ("u-bob", "u-chen"),
    ("u-bob", "u-fang"),
    ("u-chen", "u-emma"),
    ("u-chen", "u-ivy"),
    ("u-dan", "u-hui"),
    ("u-emma", "u-lin"),
    ("u-fang", "u-gao"),
    ("u-gao", "u-kai"),
    ("u-hui", "u-jun"),
    ("u-ivy", "u-kai"),
    ("u-jun", "u-lin"),
    ("u-kai", "u-lin"),
]
# habit -> (source, event type, times a day at most, data factory)
HABITS = {
    "metro": ("alipay", "transit.metro", 4, lambda r: {}),
    "bus": ("alipay", "transit.bus", 3, lambda r: {}),
    "pay": ("alipay", "payment.offline", 6, lambda r: {"amount_fen": r.choice([80, 350, 1200, 2599, 4800])}),
    "invoice": ("alipay", "invoice.electronic", 2, lambda r: {}),
    "toll": ("alipay", "toll.etc", 2, lambda r: {"amount_fen": r.choice([1500, 3500, 6000])}),
    "box": ("cainiao", "recycling.box", 2, lambda r: {"boxes": r.randint(1, 3)}),
    "waybill": ("cainiao", "logistics.e_waybill", 3, lambda r: {}),
    "cutlery": ("eleme", "food.no_cutlery", 2, lambda r: {}),
    "no_bag": ("hema", "retail.no_bag", 1, lambda r: {}),
    "paperless": ("dingtalk", "office.paperless", 3, lambda r: {"pages": r.randint(2, 12)}),
}
MONTHLY = {  # habit -> (source, type, probability per day, data)
    "clothes": ("xianyu", "recycling.clothes", 0.12, lambda r: {"weight_g": r.choice([800, 1500, 2400])}),
    "show": ("alipay", "ticket.show", 0.08, lambda r: {}),
    "train": ("alipay", "ticket.train", 0.08, lambda r: {}),
    "hospital": ("alipay", "hospital.appointment", 0.04, lambda r: {}),
}
FIELDS = ["amount_fen", "account_no", "boxes", "weight_g", "pages", "steps"]


def at(day: date, hour: int, minute: int) -> str:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ).isoformat()


def main() -> None:
    rng = random.Random(20261123)
    OUT.mkdir(exist_ok=True)
    with (OUT / "users.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "name", "activity"])
        for user_id, name, activity, _ in USERS:
            writer.writerow([user_id, name, activity])
    with (OUT / "friendships.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "friend_id"])
        writer.writerows(FRIENDS)
    rows = []
    for user_id, _name, activity, habits in USERS:
        counter = 0
        for offset in range(DAYS, 0, -1):
            day = ANCHOR_TODAY - timedelta(days=offset)
            if rng.random() > 0.35 + 0.65 * activity:
                continue  # a quiet day

            def add(
                source: str, event_type: str, when: str, data: dict, user_id: str = user_id, day: date = day
            ) -> None:
                nonlocal counter
                counter += 1
                rows.append(
                    {
                        "event_id": f"{user_id}-{day:%m%d}-{counter}",
                        "source": source,
                        "type": event_type,
                        "user_id": user_id,
                        "occurred_at": when,
                        **data,
                    }
                )

            if "walk" in habits:
                steps = 0
                for hour in (9, 13, 18, 22):
                    steps += int(rng.randint(1500, 5500) * (0.5 + activity))
                    add("health", "walking.steps", at(day, hour, rng.randint(0, 59)), {"steps": steps})
            for habit, (source, event_type, most, data) in HABITS.items():
                if habit in habits:
                    for _ in range(rng.randint(0, most)):
                        add(source, event_type, at(day, rng.randint(7, 21), rng.randint(0, 59)), data(rng))
            for habit, (source, event_type, chance, data) in MONTHLY.items():
                if habit in habits and rng.random() < chance * (0.5 + activity):
                    add(source, event_type, at(day, rng.randint(9, 20), rng.randint(0, 59)), data(rng))
            if "bill" in habits and day.day in (3, 15):
                add(
                    "alipay",
                    "bill.utility",
                    at(day, 20, 5),
                    {"amount_fen": rng.randint(3000, 30000), "account_no": f"{user_id}-power"},
                )
    rows.sort(key=lambda r: (r["occurred_at"], r["event_id"]))
    with (OUT / "events.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["event_id", "source", "type", "user_id", "occurred_at", *FIELDS])
        writer.writeheader()
        writer.writerows(rows)
    (OUT / "seed.json").write_text(
        json.dumps({"anchor_today": ANCHOR_TODAY.isoformat(), "days": DAYS}, indent=2) + "\n"
    )
    print(f"wrote {len(USERS)} users, {len(FRIENDS)} friendships, {len(rows)} events to {OUT}")


if __name__ == "__main__":
    main()
