"""The audit and its re-masks inside one render (issue 13, speed): no second render of the whole clip.

`redact` used to render the whole clip again for each re-mask round (3 rounds on a 960x540 crowd clip: findings
180 -> 25 -> 1 -> 0, most of them at the straight edges of fresh masks), and the rounds cost more than the analysis.
Here rendered frames wait in a short delay buffer before the encoder. When the audit of frame i (every other frame,
`audited_frames`, in the pool's threads) returns findings, their masks (exactly what `plan_masks` gives their
one-frame audit track: padded in space, AUDIT_PAD_FRAMES either side, carried with the camera) are painted at once on
the buffered frames they reach, and queued for the frames not rendered yet (painted with the plan's masks, before
the hooks); the finding's frame is audited again, on its new pixels, until it is clean. The rule of the rounds
stays: a finding that lies under an earlier finding's mask (`persisting`), or one still there after
MAX_REMASK_ROUNDS re-masks of its frame, refuses the release (fail closed: `redact` writes nothing).

Masks painted on a buffered frame are painted after the render's hooks (watermarks, the identity guard's restore):
a mask wins over a watermark, and the audit still sees the very pixels handed to the encoder.

The other audited frames a re-mask reaches are not audited again when their own audit found nothing (`neighbours`
off; the rounds audited them again): a re-mask only paints the style's fill over pixels, so what those frames show
outside it was audited already, and what a second look finds there is the fresh mask's edge (the rounds' 25 and 1
findings after the first 180 on a crowd clip were such, none a face). A frame a re-mask reaches before its first
audit is audited with it, and a finding in a re-audit is judged and re-masked as any. On the 6 s crowd clip: 120
audits instead of 142, as many findings a round.

A frame is handed to the encoder once every audited frame up to LOOKAHEAD frames after it is settled (clean, or
refused). A finding's re-mask reaches AUDIT_PAD_FRAMES back, and a re-mask's own new finding (at the edge of the
mask) reaches AUDIT_PAD_FRAMES further: LOOKAHEAD holds such chains three deep. A longer chain that would reach a
frame already encoded is kept (`overflow`); `redact` then renders the whole clip once more with every finding as a
track, as the rounds did before (never seen on the acceptance clips; counted in the report)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

import numpy as np

from redactor.audit import (
    MAX_REMASK_ROUNDS,
    Finding,
    FrameAudit,
    audited_frames,
    findings_as_tracks,
    persisting,
)
from redactor.detect.engine import AuditDetector
from redactor.track.masks import AUDIT_PAD_FRAMES, MaskParams, plan_masks
from redactor.track.table import TrackTable
from redactor.weights.runtime import frame_workers

# Frames after a frame whose audits must be settled before it is encoded: three re-mask reaches deep.
LOOKAHEAD = 3 * AUDIT_PAD_FRAMES

_EMPTY = np.zeros((0, 4), np.float32)


@dataclass
class _Held:
    """A rendered frame waiting for the encoder."""

    index: int
    pts: int | None
    image: np.ndarray


@dataclass
class _Audit:
    """The audit of one frame's pixels, running in the pool."""

    future: Future
    version: int  # of the frame's pixels when submitted
    image: np.ndarray  # the array it reads (painted on a copy)
    masks: int  # re-masks of the frame painted when it was submitted (a finding under one persists)
    round: int  # re-masks of the frame's own findings when submitted


class StreamAudit:
    """The audit of one render with its re-masks painted in-stream; give it to `pipeline.render(stream=...)`.

    `first_round`: the re-masks the table's audit tracks already went through (a render after an `overflow`): a
    frame's first audit counts as that round, so MAX_REMASK_ROUNDS holds across renders."""

    def __init__(self, detector: AuditDetector, table: TrackTable, keep: Iterable[int], params: MaskParams | None,
                 paint: Callable[[np.ndarray, np.ndarray], None], pool: ThreadPoolExecutor,
                 masks: dict[int, np.ndarray], verified: Callable[[int], np.ndarray] | None = None,
                 max_rounds: int = MAX_REMASK_ROUNDS, first_round: int = 0,
                 remasked: dict[int, np.ndarray] | None = None, neighbours: bool = False) -> None:
        self.table, self.params, self.paint, self.pool = table, params, paint, pool
        self.max_rounds, self.first_round = max_rounds, first_round
        # Audit again the other audited frames a re-mask changed after their audit, not only the finding's own
        # frame (as the whole-clip rounds did). Off: see the module's docstring.
        self.neighbours = neighbours
        self.stride, self.offset = audited_frames(table)
        # frames after its own that a finding's re-mask reaches: AUDIT_PAD_FRAMES, or as far as plan_masks holds a
        # detector row with the camera (up to the next keyframe: the analysis stride)
        self.reach = max(AUDIT_PAD_FRAMES, int(table.params.get("stride", 1)))
        # the masks on each frame (the plan's and the re-masks): a plate "found" around one is the mask itself
        self.seen = dict(masks)
        self.check = FrameAudit(detector, table, keep, self.stride, self.offset, masks=self.seen, verified=verified)
        # every re-mask of a finding, per frame (an earlier render's too): a finding under one persists
        self.remasked: dict[int, list[np.ndarray]] = defaultdict(list)
        for f, boxes in (remasked or {}).items():
            self.remasked[f].append(boxes)
        self.queued: dict[int, list[np.ndarray]] = defaultdict(list)  # re-masks for frames not rendered yet
        self.held: deque[_Held] = deque()
        self.by_index: dict[int, _Held] = {}
        self.round: dict[int, int] = {}  # audited frame -> how many times its own findings were re-masked
        self.version: dict[int, int] = defaultdict(int)  # audited frame -> times its pixels were re-masked
        self.running: dict[int, _Audit] = {}  # audited frame -> its audit now running
        # audited frames re-masked since their last audit, audited again once no running audit can re-mask them
        # again: a crowd's findings come in clusters, and one audit then sees the re-masks of several
        self.dirty: set[int] = set()
        self.next_write = 0
        self.last_pushed = -1
        # the buffer: the lookahead, and the audits the pool works on meanwhile (as FrameAudit bounds them)
        self.max_held = LOOKAHEAD + 2 + 2 * frame_workers() * self.stride
        self.remasked_findings: list[Finding] = []  # masked in-stream: they become audit tracks
        self.overflow: list[Finding] = []  # their masks reach a frame already encoded: `redact` renders again
        self.left: list[Finding] = []  # the findings that refuse the release
        self.per_round: list[int] = []  # findings of the audits of each round (re-masks of the frame's findings)
        self.rounds = 0  # the most re-masks any frame needed (0: none)
        self.painted = 0  # boxes painted on buffered frames
        self.audits = 0  # frame audits run (first ones and re-audits)
        self.audited: set[int] = set()

    @property
    def seconds(self) -> float:
        return self.check.seconds

    @property
    def refused(self) -> bool:
        return bool(self.left)

    def masks_for(self, index: int) -> np.ndarray:
        """The re-masks queued for a frame about to be rendered (render paints them with the plan's)."""
        boxes = self.queued.pop(index, None)
        return np.concatenate(boxes) if boxes else _EMPTY

    def push(self, index: int, pts: int | None, image: np.ndarray, write: Callable[[np.ndarray, int | None], None]
             ) -> None:
        """A rendered frame (masks, hooks): audited if it is one of the audited frames, encoded when settled."""
        held = _Held(index, pts, image)
        self.held.append(held)
        self.by_index[index] = held
        self.last_pushed = index
        if index % self.stride == self.offset:
            self.audited.add(index)
            self._submit(index)
        self._pump(write, final=False)

    def finish(self, write: Callable[[np.ndarray, int | None], None]) -> None:
        """Every audit settled and every frame encoded, in order."""
        self._pump(write, final=True)

    # --- inside ---

    def _submit(self, index: int) -> None:
        image = self.by_index[index].image
        self.audits += 1
        self.running[index] = _Audit(self.pool.submit(self.check._check, image, index), self.version[index], image,
                                     len(self.remasked.get(index, ())), self.first_round + self.round.get(index, 0))

    def _pump(self, write: Callable[[np.ndarray, int | None], None], final: bool) -> None:
        while True:
            for index in [i for i, job in self.running.items() if job.future.done()]:
                self._settle(index)
            for index in sorted(self.dirty):
                if not any(index - self.reach <= i <= index + AUDIT_PAD_FRAMES for i in self.running):
                    self.dirty.discard(index)
                    self._submit(index)
            while self.held and self._writable(self.held[0].index, final):
                h = self.held.popleft()
                del self.by_index[h.index]
                self.round.pop(h.index, None)
                self.version.pop(h.index, None)
                write(h.image, h.pts)
                self.next_write = h.index + 1
            if not self.held or (not final and len(self.held) <= self.max_held):
                return
            if self.running:  # the buffer is full (or the clip ended): wait for an audit (none: dirty ones go now)
                wait([job.future for job in self.running.values()], return_when=FIRST_COMPLETED)

    def _writable(self, index: int, final: bool) -> bool:
        if not final and self.last_pushed < index + LOOKAHEAD:
            return False
        return not any(i <= index + LOOKAHEAD for i in self.running) and \
            not any(i <= index + LOOKAHEAD for i in self.dirty)

    def _settle(self, index: int) -> None:
        job = self.running.pop(index)
        found = job.future.result()
        while len(self.per_round) <= job.round:
            self.per_round.append(0)
        self.per_round[job.round] += len(found)
        if found:
            # Judged on the pixels it saw, even where a neighbour's re-mask changed them since: its masks reach
            # frames that neighbour's do not (a face at frame 1 found while frame 3's re-mask was painted on it
            # left frame 0 unmasked when this result was dropped).
            earlier = self.remasked.get(index, [])[:job.masks]
            if self.left or job.round >= self.max_rounds or \
                    persisting(found, {index: np.concatenate(earlier)} if earlier else {}):
                # Fail closed: the release is refused. No more re-masks are spent; the other audits still run, so
                # that the report lists what is left in every frame.
                self.left += found
                return
            self._remask(found, job.round)
        if job.version != self.version[index] and not self.left and self.neighbours:
            self.dirty.add(index)  # re-masked while it was audited: audit the new pixels

    def _remask(self, found: list[Finding], rnd: int) -> None:
        """Paint the findings' masks where they reach, and audit again every audited frame whose pixels changed."""
        self.rounds = max(self.rounds, rnd + 1 - self.first_round)
        plan = plan_masks(replace(self.table, tracks=findings_as_tracks(found, 0)), set(), self.params)
        own = {f.frame for f in found}
        if any(f < self.next_write for f in plan):
            self.overflow += found  # a frame it reaches is encoded already
        else:
            self.remasked_findings += found
        for f, boxes in sorted(plan.items()):
            if f < self.next_write:
                continue
            self.remasked[f].append(boxes)
            self.seen[f] = np.concatenate([self.seen.get(f, _EMPTY), boxes])
            audited = f % self.stride == self.offset
            if f in own:
                # A frame's round counts the re-masks of its own findings. Counting a neighbour's too (a frame
                # reached by one before its first audit, as the next round would have audited it) carried rounds
                # along a crowd from frame to frame: faces_1 needed 6 of MAX_REMASK_ROUNDS (3 with the rounds).
                self.round[f] = max(self.round.get(f, 0), rnd + 1 - self.first_round)
            held = self.by_index.get(f)
            if held is None:  # not rendered yet: painted with the plan's masks, audited when it comes
                self.queued[f].append(boxes)
                continue
            if f in self.running and self.running[f].image is held.image:
                held.image = held.image.copy()  # an audit reads these pixels now: paint a copy
            self.paint(held.image, boxes)
            self.painted += len(boxes)
            if audited:
                self.version[f] += 1
                if f not in self.running and (self.neighbours or f in own):
                    self.dirty.add(f)


def remask_tracks(stream: StreamAudit, start_id: int):
    """What a render's in-stream re-masks add to the table: every finding masked (and those whose masks reached an
    encoded frame), as one-frame audit tracks, as the rounds added them."""
    return findings_as_tracks(sorted(stream.remasked_findings + stream.overflow, key=lambda f: f.frame), start_id)
