"""The FAQ: residents' questions answered through the same Japanese search as the catalog, and
for the town's staff the questions that found no good answer (what to write next)."""

from __future__ import annotations

from collections import defaultdict

import msgspec

from contracts.errors import ServiceFailure
from contracts.portal import PageReply
from services.portal import faq, i18n
from services.portal.routing import Routes
from services.portal.view import Page, field_errors

routes = Routes()

i18n.add({
    "faq_lead": (
        "知りたいことを、ふだんのことばで入力してください。例：「ごみの出し方」「住民票をとりたい」",
        "Type what you want to know in everyday words, for example \u201cgarbage collection\u201d.",
    ),
    "faq_label": ("質問", "Your question"),
    "faq_results": ("「{q}」へのお答え", "Answers for \u201c{q}\u201d"),
    "faq_none": (
        "ぴったりのお答えが見つかりませんでした。この質問は町の担当者に伝わり、答えを増やすのに役立てます。お急ぎの方はお電話ください。",
        "We found no good answer. Your question is passed to the town's staff to help us add one. If it is urgent, please call us.",
    ),
    "faq_town_specific": ("この町の情報", "About this town"),
    "faq_procedure": ("この手続きを見る", "See this procedure"),
    "faq_browse": ("分野から探す", "Browse by topic"),
    "staff_faq": ("答えのなかった質問", "Unanswered questions"),
    "staff_faq_lead": (
        "FAQで良い答えが見つからなかった質問です（だれが質問したかは記録していません）。多いものから答えを用意してください。",
        "Questions the FAQ found no good answer for (who asked is not recorded). Add answers for the most asked first.",
    ),
    "staff_faq_none": ("いまのところありません。", "None so far."),
    "staff_faq_count": ("件数", "Times asked"),
    "staff_faq_last": ("最後に聞かれた日時", "Last asked"),
    "cat_certificates": ("証明書", "Certificates"), "cat_mynumber": ("マイナンバーカード", "My Number Card"),
    "cat_moving": ("引っ越し", "Moving"), "cat_garbage": ("ごみ", "Rubbish"), "cat_snow": ("除雪", "Snow"),
    "cat_childcare": ("子育て", "Children"), "cat_health": ("健康・保険", "Health and insurance"),
    "cat_care": ("介護・高齢者", "Care and older people"), "cat_tax": ("税金", "Taxes"), "cat_water": ("水道", "Water"),
    "cat_disaster": ("防災", "Disasters"), "cat_facilities": ("施設", "Facilities"),
    "cat_online": ("オンライン申請", "Online services"), "cat_general": ("窓口・開庁時間", "Town hall"),
    "cat_pets": ("ペット", "Pets"), "cat_roads": ("道路", "Roads"),
})


@routes.page("/faq")
async def questions(page: Page) -> PageReply:
    q = page.query("q")
    if q:
        try:
            found = await faq.answer(page.context, page.site.faq, q, page.site.faq_new_per_day)  # type: ignore[arg-type]
        except ServiceFailure as exc:
            if not exc.envelope.fields:
                raise
            return page.render("faq.html", status=400, q=q, results=None, errors=field_errors(exc, page.lang), topics={})
        shown = page.render("faq.html", q=q, results=found, errors={}, topics={})
        return msgspec.structs.replace(shown, logged_question=not found.answered)
    topics: dict[str, list] = defaultdict(list)
    for shown in page.site.faq.entries(page.tenant.slug):
        topics[shown.entry.category].append(shown)
    return page.render("faq.html", q="", results=None, errors={}, topics=dict(topics))


@routes.page("/staff/faq", audience="staff")
async def unanswered(page: Page) -> PageReply:
    listed = await faq.unanswered(page.context, limit=200)  # type: ignore[arg-type]
    return page.render("staff/faq.html", items=listed.items)
