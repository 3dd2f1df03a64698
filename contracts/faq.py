"""The regional FAQ: questions residents ask, answered for the town of the subject.

The answers are shared by all 13 towns; a town may replace one or add its own (``tenants/faq/``).
Questions that found no good answer are counted for the town's staff, without who asked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from contracts import text

SEARCH = "faq_search"
UNANSWERED = "faq_unanswered"

#: The longest question accepted; longer is refused with the field named, not cut silently.
MAX_QUESTION_CHARS = 200

Question = text.line(MAX_QUESTION_CHARS, min_length=1)

Category = Literal[
    "certificates",  # 住民票・印鑑証明・戸籍
    "mynumber",  # マイナンバーカード
    "moving",  # 転入・転出・転居
    "garbage",  # ごみの分別と収集
    "snow",  # 除雪
    "childcare",  # 児童手当・保育所・子育て
    "health",  # 国民健康保険・後期高齢者医療・健診・ワクチン
    "care",  # 介護保険・高齢者
    "tax",  # 住民税・固定資産税・軽自動車税
    "water",  # 上下水道
    "disaster",  # 防災・避難所
    "facilities",  # 図書館・公共施設
    "online",  # オンライン申請の使い方
    "general",  # 開庁時間・窓口
    "pets",  # 犬の登録
    "roads",  # 道路・街路灯
]


class FaqSearch(msgspec.Struct, frozen=True, kw_only=True):
    q: Question
    limit: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5


class FaqHit(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    category: Category
    question_ja: str
    question_en: str
    answer_ja: str
    #: Empty when the answer has no English version yet.
    answer_en: str
    #: A related procedure this town offers, to link to; None when there is none here.
    procedure: str | None
    #: The town's own answer (an override or a town-only question), not the shared one.
    town_specific: bool
    score: float


class FaqResults(msgspec.Struct, frozen=True, kw_only=True):
    q: str
    #: False when no answer was good enough: the question was logged for the town's staff.
    answered: bool
    hits: list[FaqHit]


class ListUnanswered(msgspec.Struct, frozen=True, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100


class UnansweredQuestion(msgspec.Struct, frozen=True, kw_only=True):
    #: The words as first asked (digit runs and email addresses masked).
    question: str
    #: What questions are grouped by: their meaningful words, sorted.
    normalised: str
    count: int
    first_seen: datetime
    last_seen: datetime


class UnansweredList(msgspec.Struct, frozen=True, kw_only=True):
    tenant: str
    items: list[UnansweredQuestion]
