"""The ledger functions' own refusal texts (webapp/sql/functions: bad input, SC004, and who may
not, SC008), in the reader's language when a page shows one. The pages check their input
before the ledger does, so these are rare there; the API answers them as the SQL wrote them.
tests/test_ledger_messages.py fails when a function refuses with a text that is not here."""

from __future__ import annotations

from flask_babel import lazy_gettext

TRANSLATED = {
    "a customer is given twice": lazy_gettext("a customer is given twice"),
    "a delivery adds stock": lazy_gettext("a delivery adds stock"),
    "a sale has at most 500 lines": lazy_gettext("a sale has at most 500 lines"),
    "a sale must come to more than zero": lazy_gettext("a sale must come to more than zero"),
    "a sale is either items or an amount, not both": lazy_gettext(
        "a sale is either items or an amount, not both"
    ),
    "a void takes back everything: give no items or amount": lazy_gettext(
        "a void takes back everything: give no items or amount"
    ),
    "add at least one item": lazy_gettext("add at least one item"),
    "an idempotency key is required": lazy_gettext("an idempotency key is required"),
    "an opening balance is more than zero, with at most 2 decimals": lazy_gettext(
        "an opening balance is more than zero, with at most 2 decimals"
    ),
    "choose a customer": lazy_gettext("choose a customer"),
    "choose a product": lazy_gettext("choose a product"),
    "choose a reason: delivery, count correction or damage": lazy_gettext(
        "choose a reason: delivery, count correction or damage"
    ),
    "choose how it was paid": lazy_gettext("choose how it was paid"),
    "choose how the money is refunded": lazy_gettext("choose how the money is refunded"),
    "damage removes stock": lazy_gettext("damage removes stock"),
    "each item needs a product and a whole quantity from 1 to 100000": lazy_gettext(
        "each item needs a product and a whole quantity from 1 to 100000"
    ),
    "give either the items to return or an amount": lazy_gettext(
        "give either the items to return or an amount"
    ),
    "give the items as a list of at most 500": lazy_gettext(
        "give the items as a list of at most 500"
    ),
    "no opening balances given": lazy_gettext("no opening balances given"),
    "say what the amount is for in the note": lazy_gettext(
        "say what the amount is for in the note"
    ),
    "say why": lazy_gettext("say why"),
    "say why, in at most 500 characters": lazy_gettext("say why, in at most 500 characters"),
    "that sale belongs to another customer": lazy_gettext("that sale belongs to another customer"),
    "that sale is already paid": lazy_gettext("that sale is already paid"),
    "the amount can have at most two decimals": lazy_gettext(
        "the amount can have at most two decimals"
    ),
    "the amount is too large": lazy_gettext("the amount is too large"),
    "the amount must be more than zero": lazy_gettext("the amount must be more than zero"),
    "the amount must be more than zero, with at most two decimals": lazy_gettext(
        "the amount must be more than zero, with at most two decimals"
    ),
    "the change must be a whole number, not zero": lazy_gettext(
        "the change must be a whole number, not zero"
    ),
    "the count must be a whole number from 0 up": lazy_gettext(
        "the count must be a whole number from 0 up"
    ),
    "the note can be at most 200 characters": lazy_gettext(
        "the note can be at most 200 characters"
    ),
    "the note can be at most 500 characters": lazy_gettext(
        "the note can be at most 500 characters"
    ),
    "the note is at most 500 characters": lazy_gettext("the note is at most 500 characters"),
    "the quantity must be a whole number from 1 to 100000": lazy_gettext(
        "the quantity must be a whole number from 1 to 100000"
    ),
    "the reason can be at most 500 characters": lazy_gettext(
        "the reason can be at most 500 characters"
    ),
    "this sale has items: choose the items to return": lazy_gettext(
        "this sale has items: choose the items to return"
    ),
    "this sale has no items: give an amount": lazy_gettext(
        "this sale has no items: give an amount"
    ),
    "unknown or inactive user": lazy_gettext("unknown or inactive user"),
    "unknown or inactive user, or unknown API token": lazy_gettext(
        "unknown or inactive user, or unknown API token"
    ),
    "a clerk can correct only their own sales": lazy_gettext(
        "a clerk can correct only their own sales"
    ),
    "only an owner can go over the credit limit": lazy_gettext(
        "only an owner can go over the credit limit"
    ),
    "only an owner can reverse a payment": lazy_gettext("only an owner can reverse a payment"),
}


def said(message: str) -> str:
    """A ledger refusal's text as a sentence in the reader's language (its English when it
    carries figures the SQL wrote in, like the minutes a clerk has)."""
    text = str(TRANSLATED.get(message, message))
    return text[:1].upper() + text[1:] + "."
