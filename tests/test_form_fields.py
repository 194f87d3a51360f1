"""The dispute dialogs' fields are rendered once per language and what they are made of,
and are the same as rendered afresh."""

from django.template.loader import render_to_string
from django.utils import translation

from order_messages.forms import CloseDisputeForm, DisputeForm
from order_messages.templatetags import order_messages as tags

FIELDS = "order_messages/partials/dispute_fields.html"


def fresh(form, template=FIELDS):
    return render_to_string(template, {"form": form})


def test_an_unbound_forms_fields_are_kept_and_the_same_as_rendered_afresh(db, monkeypatch):
    tags.FORM_FIELDS.clear()
    rendered = []
    real = tags.render_to_string
    monkeypatch.setattr(
        tags, "render_to_string", lambda *a, **k: rendered.append(a) or real(*a, **k)
    )

    first = tags.form_fields(FIELDS, DisputeForm(auto_id="dispute-%s"))
    second = tags.form_fields(FIELDS, DisputeForm(auto_id="dispute-%s"))

    assert first == second == fresh(DisputeForm(auto_id="dispute-%s"))
    assert 'id="dispute-reason_code"' in first and "<option" in first
    assert len(rendered) == 1


def test_a_new_list_of_reasons_or_another_language_renders_again(db, settings):
    tags.FORM_FIELDS.clear()
    before = tags.form_fields(FIELDS, DisputeForm())
    settings.ORDER_MESSAGES_DISPUTE_REASONS = [("late", "Arrived late"), ("other", "Other")]

    after = tags.form_fields(FIELDS, DisputeForm())
    with translation.override("de"):
        german = tags.form_fields(FIELDS, DisputeForm())

    assert "Arrived late" in after and "Arrived late" not in before
    assert after == fresh(DisputeForm())
    assert "Was ist schiefgegangen?" in german and "What went wrong?" in after


def test_a_bound_form_with_its_errors_is_rendered_each_time(db):
    tags.FORM_FIELDS.clear()
    form = DisputeForm({"reason_code": "nonsense", "reason": ""})
    assert not form.is_valid()

    html = tags.form_fields(FIELDS, form)

    assert 'role="alert"' in html
    assert html == fresh(form)
    assert not tags.FORM_FIELDS


def test_the_close_dialogs_fields_are_kept_and_choose_no_outcome(db):
    template = "order_messages/partials/close_dispute_fields.html"
    tags.FORM_FIELDS.clear()

    first = tags.form_fields(template, CloseDisputeForm(auto_id="close-%s"))
    second = tags.form_fields(template, CloseDisputeForm(auto_id="close-%s"))

    assert first == second == fresh(CloseDisputeForm(auto_id="close-%s"), template)
    assert '<option value="" selected>' in first
    assert first.count(" selected") == 1
