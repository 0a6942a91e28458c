"""Compliance filter applied to every sentence before it is spoken.

Live-commerce speech is advertising: China's Advertising Law bans absolute superlatives
(最, 第一, 国家级, 顶级 ...) and unapproved medical claims; US/EU rules bar unsubstantiated
"best ever", "guaranteed" and cure claims. Each :class:`Rule` matches a family of phrasings
with a regular expression and either **rewrites** the phrase into an allowed one or
**skips** the sentence. Every decision is logged and returned, so a merchant can audit
what the host did not say.

Rules load from YAML (``ComplianceFilter.from_file``)::

    rules:
      - {pattern: "(?i)\\bbest[- ]?ever\\b", action: rewrite, replacement: "really great",
         category: superlative, reason: unsubstantiated superlative}
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from dhsdk.errors import InputError

log = logging.getLogger("dhsdk.compliance")


@dataclass(frozen=True)
class Rule:
    """One banned-claim family.

    Attributes:
        pattern: regular expression (Python syntax) matching the phrase.
        action: ``"rewrite"`` (replace the match with ``replacement``) or ``"skip"``
            (drop the whole sentence).
        replacement: the allowed phrasing for ``rewrite``.
        category: ``superlative``, ``medical``, ``guarantee``, ``price`` ...
        reason: one line a merchant understands.
    """

    pattern: str
    action: str
    replacement: str = ""
    category: str = "other"
    reason: str = ""


@dataclass
class Verdict:
    """What the filter did to one sentence.

    Attributes:
        original: the sentence as given.
        text: what may be spoken (rewritten), or None when the sentence is skipped.
        hits: (rule, matched text) for every rule that fired.
    """

    original: str
    text: str | None
    hits: list[tuple[Rule, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.text != self.original


_ZH_ABSOLUTE = "最佳|最好|最强|最低|最便宜|最高级|最先进|最优|最新技术|最受欢迎"

DEFAULT_RULES: tuple[Rule, ...] = (
    # --- medical claims: never said, whatever the product --------------------------------
    Rule(r"(?i)\b(cure[sd]?|curing|heal(s|ed|ing)?|treat(s|ed|ing)?|prevent(s|ed|ing)?)\b[^.!?]{0,40}"
         r"\b(disease|cancer|acne|eczema|diabetes|infection|illness|hair loss|arthritis|insomnia)",
         "skip", category="medical", reason="medical claim about a consumer product"),
    Rule(r"(?i)\b(anti[- ]?cancer|clinically proven|doctor[- ]recommended|miracle (cure|cream|pill))\b",
         "skip", category="medical", reason="unsubstantiated health claim"),
    Rule(r"治疗|治愈|根治|抗癌|防癌|药效|疗效|消炎|杀菌|包治|祛病|降血压|降血糖|减肥药", "skip",
         category="medical", reason="广告法：普通商品不得宣传医疗功效"),
    # --- absolute superlatives ------------------------------------------------------------
    Rule(r"全网(最低|最便宜|第一)价?|史上最低价?|历史最低价?", "rewrite", "超值优惠", "price",
         "广告法：不得使用“全网最低”等绝对化价格用语"),
    Rule(_ZH_ABSOLUTE, "rewrite", "很好", "superlative", "广告法：禁止“最”字类绝对化用语"),
    Rule(r"第一(品牌|名)?|销量冠军", "rewrite", "很受欢迎", "superlative",
         "广告法：禁止“第一”类绝对化用语"),
    Rule(r"国家级|世界级|顶级|极品|独一无二|唯一|首选|万能|永久|绝对|100%纯天然", "rewrite", "优质", "superlative",
         "广告法：禁止绝对化用语"),
    Rule(r"(?i)\bthe\s+best[- ]?(ever|in the world|on the market|of all time)\b", "rewrite", "a really great",
         "superlative", "unsubstantiated superlative"),
    Rule(r"(?i)\bbest[- ]?(ever|in the world|on the market|of all time)\b", "rewrite", "really great",
         "superlative", "unsubstantiated superlative"),
    Rule(r"(?i)\b(the\s+)?best\s+(\w+\s+){1,3}(ever|in the world|on the market|of all time)\b", "skip",
         category="superlative", reason="unsubstantiated superlative"),
    Rule(r"(?i)(?<!\w)(number[- ]one|no\.\s?1|#\s?1)(?!\d)", "rewrite", "very popular", "superlative",
         "unsubstantiated ranking claim"),
    Rule(r"(?i)\b(lowest price (ever|anywhere|on the internet)|cheapest (anywhere|in the world|ever))\b",
         "rewrite", "a great price", "price", "unverifiable lowest-price claim"),
    # --- guarantees -----------------------------------------------------------------------
    Rule(r"(?i)\b100\s?(%|percent)\s+(guaranteed|safe|effective|natural|risk[- ]free)\b", "rewrite",
         "carefully made", "guarantee", "absolute guarantee"),
    Rule(r"(?i)\b(no|zero|without any) side[- ]effects?\b", "skip", category="medical",
         reason="health-safety claim"),
    Rule(r"(?i)\b(guaranteed (results|to work|weight loss)|risk[- ]free|zero risk)\b",
         "rewrite", "designed with care", "guarantee", "absolute guarantee"),
    Rule(r"保证(有效|见效|瘦)|零风险|无副作用|百分之百有效", "rewrite", "用心打造", "guarantee", "广告法：不得作保证性承诺"),
)


class ComplianceFilter:
    """Checks sentences against banned-claim rules.

    Args:
        rules: the rules to apply; :data:`DEFAULT_RULES` when None.
        extra: rules added to those.
    """

    def __init__(self, rules: list[Rule] | tuple[Rule, ...] | None = None, extra: list[Rule] | None = None):
        self.rules = list(DEFAULT_RULES if rules is None else rules) + list(extra or [])
        for r in self.rules:
            if r.action not in ("rewrite", "skip"):
                raise InputError(f"compliance rule {r.pattern!r}: action must be 'rewrite' or 'skip', got {r.action!r}")
        try:
            self._compiled = [(r, re.compile(r.pattern)) for r in self.rules]
        except re.error as e:
            raise InputError(f"compliance rule has an invalid pattern: {e}") from e

    @classmethod
    def from_file(cls, path: str | Path, keep_defaults: bool = True) -> "ComplianceFilter":
        """Load rules from YAML (``rules: [...]``), added to the defaults unless told not to."""
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            rules = [Rule(**r) for r in data.get("rules", [])]
        except (OSError, TypeError, yaml.YAMLError) as e:
            raise InputError(f"compliance rules {path} cannot be read: {e}") from e
        return cls(None if keep_defaults else [], extra=rules)

    def check(self, sentence: str) -> Verdict:
        """Apply every rule to one sentence (rewrites first-to-last; any skip wins)."""
        text = sentence
        verdict = Verdict(sentence, sentence)
        for rule, rx in self._compiled:
            m = rx.search(text)
            if not m:
                continue
            verdict.hits.append((rule, m.group(0)))
            if rule.action == "skip":
                verdict.text = None
                log.warning("compliance: skipped %r (%s: %s)", sentence, rule.category, rule.reason)
                return verdict
            text = rx.sub(rule.replacement, text)
        verdict.text = text
        if verdict.changed:
            log.info("compliance: rewrote %r -> %r (%s)", sentence, text,
                     "; ".join(r.reason for r, _ in verdict.hits))
        return verdict
