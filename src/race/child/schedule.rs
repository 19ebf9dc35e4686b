//! `--schedule`: who takes the next step, decided the same way on every machine.
//!
//! Under a schedule the workers still are real processes racing on the real shared page, but
//! only one of them moves at a time: each step of an increment (read, write, lock, unlock,
//! atomic add, as its mode has them) waits for a turn token, and the worker that just stepped
//! decides who steps next and hands the token over. Every decision is a function of the seed,
//! the trial number and the steps taken so far, never of the clock or the CPUs, so the same
//! seed gives the same interleaving, and the same totals, on one CPU, on many, and under load.
//!
//! This module is the decision alone: pure code over a [`Board`] (where the scheduler keeps its
//! state), with no I/O, no allocation and no panic path, since it runs in forked workers. The
//! shared page implements [`Board`] over atomics; the tests implement it over vectors.

use crate::model::mode::{Mode, Step};
use crate::model::schedule::{MAX_DEPTH, PREEMPT, Strategy};

/// No worker (an empty CPU, a free lock).
pub(crate) const NOBODY: u32 = u32::MAX;

/// The scheduler's own state, one per trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct State {
    /// splitmix64 state, from the seed and the trial.
    pub rng: u64,
    /// Steps taken so far in this trial.
    pub steps: u64,
    /// Who holds the lock ([`NOBODY`] when free).
    pub holder: u32,
    /// `random`: the workers on the two CPUs, and which CPU has the turn.
    pub cpus: [u32; 2],
    pub cur: u32,
    /// `worst`: how far the worst interleaving has got.
    pub phase: u32,
    /// `pct`: the steps at which the running worker's priority drops (0: unused).
    pub change_at: [u64; MAX_DEPTH as usize],
}

impl State {
    /// A fresh state for a trial; [`start`] fills in the rest.
    pub(crate) fn new(seed: u64, trial: u64) -> State {
        State {
            rng: seed ^ trial.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D,
            steps: 0,
            holder: NOBODY,
            cpus: [NOBODY; 2],
            cur: 0,
            phase: 0,
            change_at: [0; MAX_DEPTH as usize],
        }
    }

    /// The worker on CPU `i` (0 or 1) under `random`, [`NOBODY`] for none.
    fn cpu(&self, i: usize) -> u32 {
        self.cpus.get(i).copied().unwrap_or(NOBODY)
    }

    fn set_cpu(&mut self, i: usize, w: u32) {
        if let Some(cpu) = self.cpus.get_mut(i) {
            *cpu = w;
        }
    }

    /// splitmix64: tiny, good enough for choosing turns, and its whole state is one `u64` that
    /// lives in the shared page.
    fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn chance(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n), n > 0 (0 when n = 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            // Lemire's multiply-shift: no modulo bias worth the name at these sizes.
            (u128::from(self.next_u64()).wrapping_mul(u128::from(n)) >> 64) as u64
        }
    }
}

/// Where the scheduler keeps what it knows about each worker. Indices are below
/// [`procs`](Board::procs); an implementation returns 0 for any other and ignores writes to it.
pub(crate) trait Board {
    fn procs(&self) -> u32;
    /// Increments worker `w` has completed.
    fn done(&self, w: u32) -> u64;
    fn set_done(&mut self, w: u32, done: u64);
    /// Index of worker `w`'s next step within its increment.
    fn pos(&self, w: u32) -> u32;
    fn set_pos(&mut self, w: u32, pos: u32);
    /// A number the strategy keeps per worker: `pct`'s priority, `random`'s time of queueing.
    fn mark(&self, w: u32) -> u64;
    fn set_mark(&mut self, w: u32, mark: u64);
    /// `--replay`: the worker who takes step number `step` (from 0) of the recorded
    /// interleaving; `None` past its end.
    fn script(&self, step: u64) -> Option<u32>;
}

/// The schedule of one trial: the mode's steps, the increments each worker makes, the
/// strategy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plan {
    pub strategy: Strategy,
    pub mode: Mode,
    pub iters: u64,
}

impl Plan {
    fn steps(&self) -> &'static [Step] {
        self.mode.steps()
    }

    /// Total steps of the trial.
    fn total_steps(&self, procs: u32) -> u64 {
        (self.steps().len() as u64)
            .saturating_mul(self.iters)
            .saturating_mul(u64::from(procs))
    }

    /// Worker `w`'s next step, or `None` when it has finished.
    pub(crate) fn next_step(&self, board: &impl Board, w: u32) -> Option<Step> {
        if board.done(w) >= self.iters {
            return None;
        }
        self.steps().get(board.pos(w) as usize).copied()
    }

    fn finished(&self, board: &impl Board, w: u32) -> bool {
        board.done(w) >= self.iters
    }

    /// Whether `w` may step now: it has steps left and, if its next step takes the lock, the
    /// lock is free. The lock holder is always runnable (no mode locks twice), so while any
    /// worker has steps left some worker is runnable: no schedule can deadlock.
    pub(crate) fn runnable(&self, state: &State, board: &impl Board, w: u32) -> bool {
        match self.next_step(board, w) {
            None => false,
            Some(Step::Lock) => state.holder == NOBODY || state.holder == w,
            Some(_) => true,
        }
    }

    /// The first runnable worker from `from` on, cyclically.
    fn first_runnable(&self, state: &State, board: &impl Board, from: u32) -> Option<u32> {
        let procs = board.procs();
        (0..procs)
            .map(|k| from.wrapping_add(k).checked_rem(procs).unwrap_or(0))
            .find(|&w| self.runnable(state, board, w))
    }

    /// Sets up a trial's state and names the first worker to step (`None`: nothing to do).
    pub(crate) fn start(&self, state: &mut State, board: &mut impl Board) -> Option<u32> {
        let procs = board.procs();
        for w in 0..procs {
            board.set_done(w, 0);
            board.set_pos(w, 0);
            board.set_mark(w, u64::from(w));
        }
        match self.strategy {
            Strategy::Random { .. } => {
                state.cpus = [0, if procs > 1 { 1 } else { NOBODY }];
                state.cur = u32::from(state.chance() < 0.5 && procs > 1);
                for w in 0..procs {
                    board.set_mark(w, u64::from(w));
                }
            }
            Strategy::Pct { depth } => {
                // Distinct priorities depth .. depth + procs − 1, shuffled (Fisher-Yates on
                // the marks themselves: no allocation).
                for w in 0..procs {
                    board.set_mark(w, u64::from(depth).saturating_add(u64::from(w)));
                }
                for w in (1..procs).rev() {
                    let other = state.below(u64::from(w) + 1) as u32;
                    let (a, b) = (board.mark(w), board.mark(other));
                    board.set_mark(w, b);
                    board.set_mark(other, a);
                }
                let total = self.total_steps(procs).max(1);
                for i in 1..depth.min(MAX_DEPTH) {
                    let at = state.below(total).saturating_add(1);
                    if let Some(slot) = state.change_at.get_mut(i as usize) {
                        *slot = at;
                    }
                }
            }
            Strategy::Lockstep | Strategy::Worst | Strategy::Serial | Strategy::Replay => {}
        }
        // As if the last worker had just stepped: lockstep begins with worker 0.
        self.choose(state, board, procs.saturating_sub(1))
    }

    /// Records that `w` took its next step and names who steps next (`None`: all finished).
    pub(crate) fn after_step(
        &self,
        state: &mut State,
        board: &mut impl Board,
        w: u32,
    ) -> Option<u32> {
        let Some(step) = self.next_step(board, w) else {
            return self.choose(state, board, w);
        };
        match step {
            Step::Lock => state.holder = w,
            Step::Unlock => state.holder = NOBODY,
            Step::Read | Step::Write | Step::Add => {}
        }
        let pos = board.pos(w).saturating_add(1);
        let ends_increment = pos as usize >= self.steps().len();
        if ends_increment {
            board.set_pos(w, 0);
            board.set_done(w, board.done(w).saturating_add(1));
        } else {
            board.set_pos(w, pos);
        }
        state.steps = state.steps.saturating_add(1);
        self.advance(state, board, w, ends_increment);
        self.choose(state, board, w)
    }

    /// The strategy's bookkeeping after `w` stepped.
    fn advance(&self, state: &mut State, board: &mut impl Board, w: u32, ends_increment: bool) {
        match self.strategy {
            Strategy::Random { switch } => {
                let on: usize = if state.cpus[0] == w { 0 } else { 1 };
                if self.finished(board, w) {
                    let waiting = self.longest_waiting(state, board);
                    state.set_cpu(on, waiting);
                } else if ends_increment && state.chance() < PREEMPT {
                    let next = self.longest_waiting(state, board);
                    if next != NOBODY {
                        board.set_mark(w, state.steps.saturating_add(u64::from(board.procs())));
                        state.set_cpu(on, next);
                    }
                }
                let other = on ^ 1;
                let p = if ends_increment { 0.5 } else { switch };
                let hand_over = state.cpu(other) != NOBODY && state.chance() < p;
                state.cur = if hand_over { other as u32 } else { on as u32 };
            }
            Strategy::Pct { depth } => {
                for i in 1..depth.min(MAX_DEPTH) {
                    if state.change_at.get(i as usize) == Some(&state.steps) {
                        // The running worker drops below every initial priority (≥ depth).
                        board.set_mark(w, u64::from(depth.saturating_sub(i)));
                    }
                }
            }
            Strategy::Lockstep | Strategy::Serial | Strategy::Replay => {}
            Strategy::Worst => self.advance_worst(state, board),
        }
    }

    /// The runnable worker off the CPUs that has waited longest ([`NOBODY`] if none).
    fn longest_waiting(&self, state: &State, board: &impl Board) -> u32 {
        (0..board.procs())
            .filter(|&w| !state.cpus.contains(&w) && self.runnable(state, board, w))
            .min_by_key(|&w| (board.mark(w), w))
            .unwrap_or(NOBODY)
    }

    /// Names the next worker to step, given that `last` stepped last.
    fn choose(&self, state: &mut State, board: &mut impl Board, last: u32) -> Option<u32> {
        let procs = board.procs();
        let pick = match self.strategy {
            Strategy::Random { .. } => self.choose_random(state, board),
            Strategy::Pct { .. } => (0..procs)
                .filter(|&w| self.runnable(state, board, w))
                .max_by_key(|&w| (board.mark(w), std::cmp::Reverse(w))),
            Strategy::Lockstep => self.first_runnable(state, board, last.wrapping_add(1)),
            Strategy::Serial => self.first_runnable(state, board, 0),
            Strategy::Worst => self.choose_worst(state, board),
            Strategy::Replay => board.script(state.steps),
        };
        // Whatever the strategy prefers, someone runnable steps while anyone has steps left.
        pick.filter(|&w| self.runnable(state, board, w))
            .or_else(|| self.first_runnable(state, board, 0))
    }

    fn choose_random(&self, state: &mut State, board: &mut impl Board) -> Option<u32> {
        for cpu in 0..2 {
            if state.cpu(cpu) == NOBODY || self.finished(board, state.cpu(cpu)) {
                let waiting = self.longest_waiting(state, board);
                state.set_cpu(cpu, waiting);
            }
        }
        let cur = state.cur as usize & 1;
        let order = [cur, cur ^ 1];
        if let Some(&cpu) = order
            .iter()
            .find(|&&c| state.cpu(c) != NOBODY && self.runnable(state, board, state.cpu(c)))
        {
            state.cur = cpu as u32;
            return Some(state.cpu(cpu));
        }
        // Both CPUs' workers wait for the lock: its holder was swapped out; bring it back.
        let holder = state.holder;
        if holder != NOBODY && self.runnable(state, board, holder) {
            let blocked = state.cpu(cur);
            if blocked != NOBODY {
                board.set_mark(
                    blocked,
                    state.steps.saturating_add(u64::from(board.procs())),
                );
            }
            state.set_cpu(cur, holder);
            return Some(holder);
        }
        None
    }

    /// The worst interleaving, for workers A = 0 and B = 1:
    ///
    /// 0. A reads 0.
    /// 1. B makes all its increments but the last; every other worker makes all of its own.
    /// 2. A writes 1 over all of that, ending its first increment.
    /// 3. B reads 1 (its last increment).
    /// 4. A makes all its other increments.
    /// 5. B writes 2 over all of that. The counter ends at 2.
    ///
    /// With one increment each, B is held back for nothing and A's write of 1 is the last.
    fn choose_worst(&self, state: &State, board: &impl Board) -> Option<u32> {
        let procs = board.procs();
        let (a, b) = (0, 1);
        match state.phase {
            0 | 2 | 4 => Some(a),
            1 => {
                let b_target = self.b_held_back();
                if board.done(b) < b_target && procs > 1 {
                    Some(b)
                } else {
                    (2..procs).find(|&w| !self.finished(board, w))
                }
            }
            3 | 5 => Some(b),
            _ => self.first_runnable(state, board, 0),
        }
    }

    /// How many increments B makes before A's first write.
    fn b_held_back(&self) -> u64 {
        if self.iters >= 2 {
            self.iters.saturating_sub(1)
        } else {
            self.iters
        }
    }

    /// Whether worker `w` has taken its read in the increment it is in.
    fn has_read(&self, board: &impl Board, w: u32) -> bool {
        let read_at = self
            .steps()
            .iter()
            .position(|s| matches!(s, Step::Read | Step::Add));
        read_at.is_some_and(|at| board.pos(w) as usize > at)
    }

    fn advance_worst(&self, state: &mut State, board: &impl Board) {
        let procs = board.procs();
        let (a, b) = (0, 1);
        loop {
            let done = match state.phase {
                0 => self.has_read(board, a) || self.finished(board, a),
                1 => {
                    (procs < 2 || board.done(b) >= self.b_held_back())
                        && (2..procs).all(|w| self.finished(board, w))
                }
                2 => board.done(a) >= 1,
                3 => procs < 2 || self.has_read(board, b) || self.finished(board, b),
                4 => self.finished(board, a),
                5 => procs < 2 || self.finished(board, b),
                _ => false,
            };
            if !done {
                return;
            }
            state.phase = state.phase.saturating_add(1);
        }
    }
}

/// A board in ordinary memory: the parent checks a `--replay` script on it, the tests play
/// whole trials on it.
#[derive(Debug, Clone)]
pub(crate) struct Vecs {
    done: Vec<u64>,
    pos: Vec<u32>,
    mark: Vec<u64>,
    /// `--replay`'s steps, when checking a script.
    script: Vec<u32>,
}

impl Vecs {
    pub(crate) fn new(procs: u32) -> Vecs {
        let n = procs as usize;
        Vecs {
            done: vec![0; n],
            pos: vec![0; n],
            mark: vec![0; n],
            script: Vec::new(),
        }
    }
}

impl Board for Vecs {
    fn procs(&self) -> u32 {
        u32::try_from(self.done.len()).unwrap_or(u32::MAX)
    }
    fn done(&self, w: u32) -> u64 {
        self.done.get(w as usize).copied().unwrap_or(0)
    }
    fn set_done(&mut self, w: u32, done: u64) {
        if let Some(d) = self.done.get_mut(w as usize) {
            *d = done;
        }
    }
    fn pos(&self, w: u32) -> u32 {
        self.pos.get(w as usize).copied().unwrap_or(0)
    }
    fn set_pos(&mut self, w: u32, pos: u32) {
        if let Some(p) = self.pos.get_mut(w as usize) {
            *p = pos;
        }
    }
    fn mark(&self, w: u32) -> u64 {
        self.mark.get(w as usize).copied().unwrap_or(0)
    }
    fn set_mark(&mut self, w: u32, mark: u64) {
        if let Some(m) = self.mark.get_mut(w as usize) {
            *m = mark;
        }
    }
    fn script(&self, step: u64) -> Option<u32> {
        self.script.get(usize::try_from(step).ok()?).copied()
    }
}

/// Whether `plan` (a replay) hands out its steps exactly as `script` says, to its end, on
/// `procs` workers: checked in the parent before any worker runs it, so a script that the
/// schedule would have to bend (a lock step given while another holds the lock) is refused.
pub(crate) fn follows(plan: &Plan, procs: u32, script: &[u32]) -> bool {
    let mut board = Vecs::new(procs);
    board.script = script.to_vec();
    let mut state = State::new(0, 0);
    let mut next = plan.start(&mut state, &mut board);
    let mut taken = 0usize;
    while let Some(w) = next {
        if script.get(taken) != Some(&w) || !plan.runnable(&state, &board, w) {
            return false;
        }
        taken = taken.saturating_add(1);
        next = plan.after_step(&mut state, &mut board, w);
    }
    taken == script.len() && plan.total_steps(procs) == script.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schedule::DEFAULT_SWITCH;

    /// Plays a whole trial on a model counter: each worker's steps do to the model what they do
    /// to the page. Returns the final total and the order of the steps (worker, step).
    fn play(plan: &Plan, procs: u32, seed: u64, trial: u64) -> (u64, Vec<(u32, Step)>) {
        let mut board = Vecs::new(procs);
        let mut state = State::new(seed, trial);
        let mut counter = 0u64;
        let mut read = vec![0u64; procs as usize];
        let mut order = Vec::new();
        let mut next = plan.start(&mut state, &mut board);
        let limit = plan.total_steps(procs) + 1;
        while let Some(w) = next {
            assert!(
                plan.runnable(&state, &board, w),
                "chose a worker that cannot step"
            );
            let step = plan.next_step(&board, w).unwrap();
            match step {
                Step::Read => read[w as usize] = counter,
                Step::Write => counter = read[w as usize] + 1,
                Step::Add => counter += 1,
                Step::Lock | Step::Unlock => {}
            }
            order.push((w, step));
            assert!(order.len() as u64 <= limit, "more steps than the trial has");
            next = plan.after_step(&mut state, &mut board, w);
        }
        assert_eq!(
            order.len() as u64,
            plan.total_steps(procs),
            "every step taken"
        );
        (counter, order)
    }

    fn plan(strategy: Strategy, mode: Mode, iters: u64) -> Plan {
        Plan {
            strategy,
            mode,
            iters,
        }
    }

    const ALL: [Strategy; 6] = [
        Strategy::Random {
            switch: DEFAULT_SWITCH,
        },
        Strategy::Random { switch: 1.0 },
        Strategy::Pct { depth: 3 },
        Strategy::Lockstep,
        Strategy::Worst,
        Strategy::Serial,
    ];

    #[test]
    fn no_strategy_deadlocks_and_locked_modes_are_exact() {
        for strategy in ALL {
            for mode in Mode::ALL {
                for procs in 1..=8 {
                    for iters in [1, 2, 5] {
                        let p = plan(strategy, mode, iters);
                        let (total, _) = play(&p, procs, 7, 0);
                        let expected = u64::from(procs) * iters;
                        if matches!(mode, Mode::Mutex | Mode::Atomic) {
                            assert_eq!(total, expected, "{strategy} {mode} {procs}x{iters}");
                        }
                        assert!(total >= 1 && total <= expected);
                    }
                }
            }
        }
    }

    #[test]
    fn the_lock_is_never_held_by_two() {
        for strategy in ALL {
            for mode in [Mode::Mutex, Mode::PerAccess] {
                let (_, order) = play(&plan(strategy, mode, 5), 4, 3, 1);
                let mut holder = None;
                for (w, step) in order {
                    match step {
                        Step::Lock => {
                            assert_eq!(holder, None, "{strategy} {mode}");
                            holder = Some(w);
                        }
                        Step::Unlock => {
                            assert_eq!(holder, Some(w));
                            holder = None;
                        }
                        Step::Read | Step::Write | Step::Add => {}
                    }
                }
            }
        }
    }

    #[test]
    fn worst_ends_at_two_and_one_increment_each_at_one() {
        for mode in [Mode::Unlocked, Mode::PerAccess] {
            for procs in 2..=10 {
                for iters in [2, 3, 20] {
                    let (total, _) = play(&plan(Strategy::Worst, mode, iters), procs, 0, 0);
                    assert_eq!(total, 2, "{mode} {procs}x{iters}");
                }
                let (total, _) = play(&plan(Strategy::Worst, mode, 1), procs, 0, 0);
                assert_eq!(total, 1, "{mode} {procs}x1");
            }
        }
    }

    #[test]
    fn lockstep_has_everyone_read_then_everyone_write() {
        let (total, order) = play(&plan(Strategy::Lockstep, Mode::Unlocked, 3), 4, 0, 0);
        assert_eq!(
            &order[..4],
            &[
                (0, Step::Read),
                (1, Step::Read),
                (2, Step::Read),
                (3, Step::Read)
            ]
        );
        assert_eq!(order[4], (0, Step::Write));
        assert_eq!(total, 3, "each round of 4 increments counts one");
    }

    #[test]
    fn serial_is_exact_in_every_mode() {
        for mode in Mode::ALL {
            assert_eq!(play(&plan(Strategy::Serial, mode, 20), 10, 0, 0).0, 200);
        }
    }

    #[test]
    fn the_same_seed_and_trial_give_the_same_interleaving() {
        for strategy in [Strategy::Random { switch: 0.3 }, Strategy::Pct { depth: 4 }] {
            let p = plan(strategy, Mode::Unlocked, 20);
            assert_eq!(play(&p, 10, 42, 3), play(&p, 10, 42, 3));
            let others: Vec<_> = (0..5).map(|t| play(&p, 10, 42, t).1).collect();
            assert!(
                others.windows(2).any(|w| w[0] != w[1]),
                "{strategy}: trials differ"
            );
        }
    }

    #[test]
    fn random_at_the_lessons_settings_looks_like_the_lesson() {
        let p = plan(
            Strategy::Random {
                switch: DEFAULT_SWITCH,
            },
            Mode::Unlocked,
            20,
        );
        let mut totals: Vec<u64> = (0..1000).map(|t| play(&p, 10, 1, t).0).collect();
        totals.sort_unstable();
        let lossy = totals.iter().filter(|&&t| t < 200).count();
        let in_range = totals.iter().filter(|&&t| (160..=188).contains(&t)).count();
        let median = totals[500];
        assert!(lossy >= 900, "lossy in {lossy} of 1000");
        assert!((160..=188).contains(&median), "median {median}");
        eprintln!(
            "median {median} lossy {lossy} in-range {in_range} p10 {} p1 {}",
            totals[100], totals[10]
        );
        assert!(in_range >= 800, "{in_range} of 1000 in 160-188");
    }

    #[test]
    fn strategies_parse_and_print_back() {
        for text in ["random", "pct:3", "lockstep", "worst", "serial"] {
            assert_eq!(Strategy::parse(text).unwrap().name(), text);
        }
        assert!(Strategy::parse("pct:0").is_err());
        assert!(Strategy::parse("pct").unwrap_err().contains("pct:3"));
        assert!(Strategy::parse("fair").unwrap_err().contains("lockstep"));
    }
}
