from django import forms

OFFLINE_CARDS = [
    ("pm_card_visa", "4242 4242 4242 4242 — succeeds"),
    ("pm_card_chargeDeclined", "4000 0000 0000 0002 — declined"),
]


class OfflineCardForm(forms.Form):
    card = forms.ChoiceField(choices=OFFLINE_CARDS, label="Offline test card",
                             error_messages={"invalid_choice": "Choose one of the offline test cards.",
                                             "required": "Choose one of the offline test cards."})
