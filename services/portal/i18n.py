"""The portal's own words, Japanese first. Plain language: short sentences, no jargon.

Words that come from a service (a procedure's name, a message) carry their own ja/en pair.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, tuple[str, str]] = {
    # frame
    "skip": ("本文へ移動", "Skip to main content"),
    "menu": ("メニュー", "Menu"),
    "home": ("ホーム", "Home"),
    "procedures": ("手続き", "Procedures"),
    "my_applications": ("わたしの申請", "My applications"),
    "inbox": ("お知らせ", "Messages"),
    "preferences": ("通知の設定", "Notification settings"),
    "faq": ("よくある質問", "Questions and answers"),
    "report": ("道路などの不具合を知らせる", "Report a problem"),
    "settings": ("表示の設定", "Display settings"),
    "sign_in": ("ログイン", "Sign in"),
    "sign_out": ("ログアウト", "Sign out"),
    "signed_in_as": ("{name} さんでログイン中", "Signed in as {name}"),
    "switch_lang": ("English", "日本語"),
    "switch_lang_label": ("Read this page in English", "このページを日本語で読む"),
    "contact": ("お問い合わせ", "Contact"),
    "phone": ("電話", "Phone"),
    "hours": ("受付時間", "Opening hours"),
    "staff_console": ("職員用画面", "Staff console"),
    "unread": ("未読 {count} 件", "{count} unread"),
    # home
    "welcome": ("{town}のオンライン窓口", "{town} online services"),
    "welcome_lead": (
        "役所に行かなくても、スマートフォンやパソコンから手続きができます。分からないときは、いつでも電話や窓口でお手伝いします。",
        "You can do your procedures from your phone or computer, without going to the town hall. If anything is unclear, we are glad to help by phone or at the counter.",
    ),
    "emergency": ("緊急のお知らせ", "Emergency alert"),
    "alert_sent_at": ("{at} 発表", "Issued {at}"),
    "alert_until": ("{at} まで表示", "shown until {at}"),
    "news": ("市町村からのお知らせ", "News from the town"),
    "no_news": ("いまお知らせはありません。", "There is no news at the moment."),
    "popular": ("よく使われる手続き", "Common procedures"),
    "search_procedures": ("手続きをさがす", "Find a procedure"),
    "search_label": ("さがしたい手続きの名前やことば", "Words or the name of the procedure"),
    "search_button": ("さがす", "Search"),
    "search_hint": ("例：住民票、印鑑証明、児童手当", "For example: residence certificate, child allowance"),
    # catalog
    "all_procedures": ("すべての手続き", "All procedures"),
    "results_for": ("「{q}」の検索結果：{count} 件", "{count} results for \u201c{q}\u201d"),
    "no_results": (
        "「{q}」に当てはまる手続きは見つかりませんでした。ことばを変えるか、よくある質問をご覧ください。",
        "No procedure matched \u201c{q}\u201d. Try other words, or see the questions and answers.",
    ),
    "fee": ("手数料", "Fee"),
    "fee_free": ("無料", "Free"),
    "fee_yen": ("{fee} 円", "¥{fee}"),
    "days": ("処理の目安", "Usual processing time"),
    "days_value": ("{days} 日（開庁日）", "{days} working days"),
    "days_same": ("その日のうち", "The same day"),
    "needs_card": ("マイナンバーカードでのログインが必要です", "Needs sign-in with your My Number Card"),
    "department": ("担当", "Department"),
    # procedure page
    "continue_to_check": ("次へ（入力内容の確認）", "Continue (check your answers)"),
    "check_heading": ("入力内容の確認", "Check your answers"),
    "check_lead": ("まだ申請は済んでいません。内容を確かめて、いちばん下の「この内容で申請する」を押してください。",
                   "Your application has not been sent yet. Check your answers, then press \u201cSend this application\u201d at the bottom."),
    "not_answered": ("（入力なし）", "(not answered)"),
    "change": ("変更する", "Change"),
    "change_what": ("：{what}", ": {what}"),
    "from_card": ("本人確認の情報", "From your verified identity"),
    "fee_times": ("{unit} 円 × {quantity}（{per}）", "¥{unit} × {quantity} ({per})"),
    "fee_total": ("合計 {total} 円", "Total ¥{total}"),
    "check_send_heading": ("申請を送る", "Send your application"),
    "check_send_lead": ("送ると、担当者が内容を確かめます。受付番号はこのあとの画面とお知らせで確認できます。",
                        "Once sent, the town's staff will check it. You will see your reference on the next page and in your messages."),
    "check_send": ("この内容で申請する", "Send this application"),
    "apply_heading": ("申請の内容", "Your application"),
    "prefilled_note": (
        "マイナンバーカードの情報や前回の申請から、分かっていることは入力してあります。確かめて、足りないところだけ書いてください。",
        "What we already know from your My Number Card or earlier applications is filled in. Check it and fill in only what is missing.",
    ),
    "verified_heading": ("マイナンバーカードで確認済みの情報", "Confirmed with your My Number Card"),
    "signed_in_heading": ("ログインの情報から入力した項目", "Filled in from your sign-in"),
    "required": ("必須", "required"),
    "optional": ("任意", "optional"),
    "choose": ("選んでください", "Please choose"),
    "sign_in_to_apply": ("申請するにはログインしてください。", "Please sign in to apply."),
    "card_needed": (
        "この手続きには、マイナンバーカードでの本人確認が必要です。",
        "This procedure needs identity verification with your My Number Card.",
    ),
    "sign_in_with_card": ("マイナンバーカードでログイン", "Sign in with My Number Card"),
    "errors_heading": ("入力に誤りがあります。次のところを直してください。", "There is a problem. Please correct the following."),
    "attachment_types": ("{types} のファイル（{size} まで）", "A {types} file (up to {size})"),
    "attached_files": ("添付したファイル", "Attached files"),
    "attachment_kept": ("添付済み：{name}（別のファイルを選ぶと置き換わります）",
                        "Attached: {name} (choosing another file replaces it)"),
    "counter_instead": ("窓口でも手続きできます。", "You can also do this at the counter."),
    # receipt
    "received_heading": ("申請を受け付けました", "We have received your application"),
    "received_lead": (
        "受付番号を控えておいてください。進みぐあいは「わたしの申請」とお知らせで確かめられます。",
        "Please keep your reference number. You can follow your application under My applications and Messages.",
    ),
    "reference": ("受付番号", "Reference number"),
    "submitted_at": ("受付日時", "Received"),
    "due_on": ("処理の予定日", "Expected by"),
    "receipt": ("電子受付証", "Signed receipt"),
    "receipt_note": (
        "この受付証は{town}の電子署名つきです。本物かどうかは誰でも確かめられます。",
        "This receipt is signed by {town}. Anyone can check that it is genuine.",
    ),
    "view_application": ("申請の状況を見る", "See the application"),
    # checking a receipt: the QR code on the receipt pages and the public page /verify (pages/verify.py)
    "receipt_qr_title": ("電子受付証のQRコード", "QR code of the signed receipt"),
    "receipt_qr_hint": (
        "スマートフォンのカメラで読み取ると、本物かどうかを確かめるページが開きます。",
        "Scan it with a phone's camera to open the page that checks it is genuine.",
    ),
    "receipt_raw": ("署名の文字を表示する（コピーしたい方へ）", "Show the signature text (to copy it)"),
    "receipt_raw_hint": (
        "この文字をすべてコピーして「受付証を確かめる」のページに貼り付けると、本物かどうかを確かめられます。",
        "Copy all of this text into the Check a receipt page to check that it is genuine.",
    ),
    "verify_title": ("受付証を確かめる", "Check a receipt"),
    "verify_lead": (
        "会津の市町村が出した電子受付証や交付文書が本物かどうかを、だれでも確かめられます。ログインはいりません。",
        "Anyone can check that a signed receipt or document from a town in Aizu is genuine. You do not need to sign in.",
    ),
    "verify_label": ("受付証の文字", "The receipt's text"),
    "verify_hint": (
        "受付証のページにある「署名の文字」を、はじめから終わりまで全部コピーして、ここに貼り付けてください。QRコードをスマートフォンのカメラで読み取っても確かめられます。",
        "Copy the signature text on the receipt page, from beginning to end, and paste it here. You can also scan the QR code with a phone's camera.",
    ),
    "verify_button": ("確かめる", "Check"),
    "verify_valid_heading_receipt": ("本物の受付証です", "This receipt is genuine"),
    "verify_valid_heading_document": ("本物の交付文書です", "This document is genuine"),
    "verify_valid_lead": (
        "{town}が電子署名をしたもので、そのあと書き換えられていません。",
        "{town} signed it, and nothing in it has been changed since.",
    ),
    "verify_elsewhere": (
        "これは{town}が出したものです。{here}ではなく、{town}の鍵で確かめました。",
        "It was issued by {town}, not by {here}: it was checked with {town}'s keys.",
    ),
    "verify_kind": ("種類", "Kind"),
    "verify_kind_receipt": ("電子受付証", "Signed receipt"),
    "verify_kind_document": ("交付文書（電子交付）", "Issued document"),
    "verify_town": ("発行した市町村", "Issued by"),
    "verify_applicant": ("申請した人", "Applicant"),
    "verify_when_receipt": ("受付日時", "Received"),
    "verify_when_document": ("交付日時", "Issued"),
    "verify_number": ("申請の番号", "Application number"),
    "verify_number_hint": (
        "市町村の職員は、この番号で申請を調べられます。受付番号とは別の番号です。",
        "The town's staff can look the application up by this number. It is not the reference number.",
    ),
    "verify_content": ("文書の内容", "What the document says"),
    "verify_status_note": (
        "署名したときの内容が本物であることを示します。いまの進みぐあいは、申請した人が「わたしの申請」で確かめられます。",
        "This shows that the content is genuine as it was signed. The applicant can see how the application is going under My applications.",
    ),
    "verify_another": ("ほかの受付証を確かめる", "Check another receipt"),
    "verify_invalid_heading": ("本物の受付証だと確かめられませんでした", "This could not be confirmed as a genuine receipt"),
    "verify_not_receipt": (
        "受付証の文字として読み取れませんでした。受付証の文字を、はじめから終わりまで全部コピーして貼り付けてください。",
        "This is not the text of a signed receipt. Copy the receipt's text from beginning to end and paste all of it.",
    ),
    "verify_unknown_key": (
        "会津の市町村の署名ではありません。本物の受付証ではありません。",
        "It is not signed by any town in Aizu. It is not a genuine receipt.",
    ),
    "verify_changed": (
        "中身が書き換えられています（署名と合いません）。本物の受付証ではありません。",
        "Its content has been changed: it does not match the signature. It is not a genuine receipt.",
    ),
    "verify_wrong_town": (
        "書かれている市町村と、署名した市町村が合いません。本物の受付証ではありません。",
        "The town it names did not sign it. It is not a genuine receipt.",
    ),
    "verify_unverifiable": (
        "この受付証は確かめられませんでした。文字を全部貼り付けたか確かめてください。わからないときは、発行した市町村にお問い合わせください。",
        "This receipt could not be checked. Make sure you pasted all of its text. If in doubt, ask the town that issued it.",
    ),
    "verify_too_long": (
        "貼り付けた文字が長すぎます（{limit}文字まで）。受付証の文字だけを貼り付けてください。",
        "What you pasted is too long (at most {limit} characters). Paste only the receipt's text.",
    ),
    # applications
    "no_applications": ("まだ申請はありません。", "You have no applications yet."),
    "counter_code": ("窓口用番号", "Counter code"),
    "counter_code_link": ("窓口で申請するときの番号を表示する", "Show a code for filing at the counter"),
    "counter_code_intro": (
        "市役所・町村役場の窓口で申請するとき、この番号を職員に見せると、窓口での申請もこの「わたしの申請」に表示されます。",
        "When you file at your town office's counter, show this code to the staff: the filing then also shows under My applications.",
    ),
    "counter_code_show": ("番号を表示する", "Show a code"),
    "counter_code_again": ("新しい番号を表示する", "Show a new code"),
    "counter_code_yours": ("あなたの窓口用番号", "Your counter code"),
    "counter_code_until": ("{time} まで有効です。番号は職員にだけ見せてください。", "Valid until {time}. Show it to the staff only."),
    "status": ("状況", "Status"),
    "procedure": ("手続き", "Procedure"),
    "channel": ("申請の方法", "How it was filed"),
    "channel_online": ("オンライン", "Online"),
    "channel_counter": ("窓口", "At the counter"),
    "history": ("これまでの経過", "History"),
    "answers": ("申請の内容", "What was filed"),
    # statuses
    "status_received": ("受付済み", "Received"),
    "status_in_review": ("審査中", "Being reviewed"),
    "status_needs_info": ("追加の情報が必要", "More information needed"),
    "status_approved": ("承認", "Approved"),
    "status_rejected": ("不承認", "Not approved"),
    "status_issued": ("交付済み", "Issued"),
    "status_closed": ("完了", "Closed"),
    "status_withdrawn": ("取り下げ", "Withdrawn"),
    "withdraw_link": ("この申請を取り下げる", "Withdraw this application"),
    "withdraw_heading": ("申請を取り下げますか", "Withdraw the application?"),
    "withdraw_lead": (
        "取り下げると、この申請の手続きは止まり、元に戻せません。必要なときは、あらためて申請してください。",
        "Withdrawn, the application stops and cannot be taken back. Apply again if you need to.",
    ),
    "withdraw_reason": ("取り下げの理由（任意）", "Why you withdraw it (optional)"),
    "withdraw_confirm": ("取り下げる", "Withdraw"),
    "withdraw_cancel": ("取り下げずに戻る", "Go back without withdrawing"),
    "withdrawn_done": ("申請を取り下げました。", "The application was withdrawn."),
    # answering the town (needs_info → in_review)
    "asked_heading": ("追加の情報をお願いします", "We need more information from you"),
    "asked_lead": ("担当者から次の質問があります。内容を確かめて、回答してください。",
                   "The caseworker asks the following. Please read it and answer."),
    "asked_none": ("質問の内容が書かれていません。お手数ですが、担当の窓口にお電話でお確かめください。",
                   "No question was written. Please call the office in charge to ask what is needed."),
    "asked_at": ("{at} の質問", "Asked {at}"),
    "answer_link": ("回答する", "Answer"),
    "answer_heading": ("担当者からの質問に回答する", "Answer the caseworker's question"),
    "answer_label": ("回答", "Your answer"),
    "answer_hint": ("質問への答えを書いてください（{limit}文字まで）。", "Write your answer to the question (up to {limit} characters)."),
    "answer_missing": ("回答を書いてください。", "Please write your answer."),
    "answer_too_long": ("回答は{limit}文字までです（いまは{count}文字）。", "Your answer can be at most {limit} characters (it is {count} now)."),
    "answer_files": ("ファイルを添付する（任意）", "Attach a file (optional)"),
    "answer_files_lead": ("求められた書類があれば添付してください。添付したファイルは、同じ欄に提出済みのファイルと置き換わります。",
                          "Attach any document you were asked for. A file replaces the one filed for the same item."),
    "answer_filed": ("提出済み：{name}", "Filed: {name}"),
    "answer_correct": ("申請の内容を直す（任意）", "Correct what you filed (optional)"),
    "answer_correct_lead": ("直すところだけ書きかえてください。書きかえなかったところは、そのままです。",
                            "Change only what needs correcting; the rest stays as it is."),
    "answer_send": ("回答を送る", "Send the answer"),
    "answer_cancel": ("回答せずに戻る", "Go back without answering"),
    "answer_sent": ("回答を送りました。担当者が確かめます。", "Your answer was sent. The caseworker will look at it."),
    # inbox
    "no_messages": ("お知らせはまだありません。", "You have no messages yet."),
    "mark_read": ("読んだ", "Mark as read"),
    "new": ("未読", "New"),
    # preferences
    "prefs_lead": (
        "お知らせは、このサイトの「お知らせ」にいつも届きます。ほかの方法でも受け取りたいときは選んでください。上から順に試し、届かないときは次の方法で送ります。",
        "Messages always arrive under Messages on this site. Choose other ways too if you like; we try them in order and use the next one when one fails.",
    ),
    "email": ("メールアドレス", "Email address"),
    "channel_email": ("メール", "Email"),
    "channel_push": ("スマートフォンの通知（プッシュ通知）", "Phone notifications (push)"),
    "channel_webhook": ("LINE など町の連携サービス", "The town's linked services (such as LINE)"),
    "save": ("保存する", "Save"),
    "saved": ("保存しました。", "Saved."),
    # settings
    "settings_lead": ("文字の大きさと言語を選べます。", "Choose the text size and language."),
    "text_size": ("文字の大きさ", "Text size"),
    "text_standard": ("ふつう", "Standard"),
    "text_large": ("大きい", "Large"),
    "language": ("言語", "Language"),
    # errors
    "not_found_heading": ("ページが見つかりません", "Page not found"),
    "not_found_lead": ("アドレスが正しいか確かめてください。", "Please check the address."),
    "problem_heading": ("うまくいきませんでした", "Something went wrong"),
    "problem_lead": (
        "時間をおいてもう一度お試しください。続くときは、お電話でお問い合わせください。",
        "Please try again later. If it keeps happening, please call us.",
    ),
    "sign_in_needed": ("ログインが必要です", "Please sign in"),
    "sign_in_needed_lead": ("このページを見るにはログインしてください。", "Please sign in to see this page."),
    "forbidden_heading": ("このページは表示できません", "You cannot see this page"),
    "back_home": ("ホームにもどる", "Back to home"),
}


def text(key: str, lang: str, **values: Any) -> str:
    ja, en = TEXTS[key]
    chosen = en if lang == "en" else ja
    return chosen.format(**values) if values else chosen


def add(texts: dict[str, tuple[str, str]]) -> None:
    """A page module's own words (e.g. the staff console's); a key is defined once only."""
    clash = TEXTS.keys() & texts.keys()
    if clash:
        raise ValueError(f"words defined twice: {sorted(clash)}")
    TEXTS.update(texts)
