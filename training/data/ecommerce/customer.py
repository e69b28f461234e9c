"""What customers write: many phrasings per intent, casual and formal, some sloppy."""

from __future__ import annotations

import random

from app.domain.money import format_amount
from app.domain.profile import Profile, StorefrontContext
from app.domain.rules import Intent

MESSAGES: dict[Intent, tuple[str, ...]] = {
    Intent.INSTALMENT_ELIGIBILITY: (
        "Can I pay in instalments?",
        "Hi, am I eligible for your pay-later plans?",
        "do you do monthly payments for me?",
        "Is it possible for me to split payments into instalments?",
        "Could you check if I qualify for instalment payments?",
        "I'd like to pay monthly instead of all at once. Can I?",
        "Are instalments available on my account?",
        "hey can i use the buy now pay later thing",
        "What are my options for paying over time?",
        "Can I spread the cost of my purchases?",
    ),
    Intent.PURCHASE_FIT: (
        "Can I buy the {title} on instalments?",
        "Would the {title} at {price} fit in my credit?",
        "Can I afford the {title} with monthly payments?",
        "Is {price} for the {title} within what I can spend on credit?",
        "I want the {title}. Can I pay for it in instalments?",
        "could i get this {title} on a payment plan?",
        "Does my available credit cover the {title}?",
        "How much a month would the {title} be?",
        "Is my cart ok to pay in instalments? It's {price} in total.",
        "Can I split the {price} for the {title} into monthly payments?",
    ),
    Intent.CREDIT_INFO: (
        "What's my credit limit?",
        "How much credit do I have left?",
        "Can you tell me my available credit?",
        "what is my spending limit right now",
        "How much can I still spend on credit?",
        "What do I owe at the moment and what's my limit?",
        "Could you remind me of my credit limit and balance?",
        "How much room is left on my account?",
    ),
    Intent.LIMIT_INCREASE: (
        "Can I get a higher credit limit?",
        "I'd like to increase my limit please.",
        "Is it possible to raise my spending limit?",
        "My limit is too low, can you bump it up?",
        "How do I request a credit limit increase?",
        "could you up my limit",
    ),
    Intent.ORDER_STATUS: (
        "Where is my order?",
        "When will my order arrive?",
        "Any update on my delivery?",
        "has my package shipped yet",
        "Can you check the status of my order?",
        "I'm still waiting for my parcel. What's going on?",
    ),
    Intent.RETURNS: (
        "How do I return something?",
        "I want to send an item back.",
        "What's your returns process?",
        "Can I return the item I bought?",
        "this doesn't fit, how do i return it",
        "How can I get a refund for an item?",
    ),
    Intent.DISPUTE: (
        "I was charged twice for the same order.",
        "I want to dispute a charge on my account.",
        "The amount you took is wrong and I want it corrected.",
        "I never received my refund and I'm disputing the payment.",
        "There's a charge on my statement I don't agree with.",
    ),
    Intent.FRAUD_REPORT: (
        "There's a purchase on my account I didn't make.",
        "I think someone used my account without permission.",
        "I don't recognise an order on my account. Is this fraud?",
        "Someone hacked my account and bought things.",
        "There are payments I didn't authorise!",
    ),
    Intent.HUMAN_REQUEST: (
        "Can I talk to a real person?",
        "I want to speak to a human agent.",
        "Please put me through to someone from customer service.",
        "get me a human please",
        "I'd rather talk to an actual person, thanks.",
        "Is there a person I can chat with?",
    ),
    Intent.OTHER_USER_DATA: (
        "What's my husband's credit limit? His account is under the same address.",
        "Can you tell me how much credit my sister has left?",
        "My friend Alex asked me to check his balance for him.",
        "What's the limit on account {other_id}?",
        "I'm buying a gift with my partner - what can she spend on her account?",
    ),
    Intent.SMALL_TALK: (
        "Hi there!",
        "Thanks, that's all!",
        "Hello, how are you today?",
        "thank you so much",
        "Good morning!",
        "Great, thanks for the help.",
        "Are you a bot?",
    ),
}

FOLLOW_UPS: dict[Intent, tuple[str, ...]] = {
    Intent.PURCHASE_FIT: (
        "What about the {title}?",
        "OK, and could I get the {title} at {price} that way?",
        "Then how about the {title}?",
        "And the {title}? Would that work on instalments?",
    ),
    Intent.ORDER_STATUS: (
        "It's order {order_id}.",
        "The order number is {order_id}.",
        "Sure, {order_id}.",
    ),
}


def customer_message(
    rng: random.Random,
    intent: Intent,
    profile: Profile,
    context: StorefrontContext,
    *,
    follow_up: bool = False,
) -> str:
    """One customer message for `intent`, filled from the context it refers to."""
    pool = FOLLOW_UPS.get(intent, MESSAGES[intent]) if follow_up else MESSAGES[intent]
    if intent is Intent.PURCHASE_FIT and not context.items:
        pool = tuple(t for t in pool if "{" not in t) or (
            "Can I buy something on instalments?",
            "Would a purchase fit in my credit?",
            "Could I afford a new phone on monthly payments?",
        )
    template = rng.choice(pool)
    title = context.items[0].title if context.items else "item"
    if len(context.items) > 1:
        title = "items in my cart"
    return template.format(
        title=title,
        price=format_amount(context.total, profile.currency),
        order_id=context.order_id or "",
        other_id=f"u-{rng.randint(1000, 9999)}",
    )
