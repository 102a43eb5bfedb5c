//! A task's statuses in ECS's words: `TaskStatus` (its `lastStatus`, ECS's lifecycle in
//! order) and `DesiredStatus`, and what may follow what.
//!
//! Guarantees: a status is stored and answered with the word ECS uses (`as_str`), and
//! `parse` reads back exactly those words (case-sensitive); a status never moves back and a
//! stopped task never stops again (`TaskStatus::may_become`). Pure: no I/O.

/// A task's `lastStatus`: ECS's lifecycle, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskStatus {
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
}

impl TaskStatus {
    pub(crate) const ALL: [TaskStatus; 8] = [
        TaskStatus::Provisioning,
        TaskStatus::Pending,
        TaskStatus::Activating,
        TaskStatus::Running,
        TaskStatus::Deactivating,
        TaskStatus::Stopping,
        TaskStatus::Deprovisioning,
        TaskStatus::Stopped,
    ];

    /// The word ECS uses (stored and answered as is).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Provisioning => "PROVISIONING",
            TaskStatus::Pending => "PENDING",
            TaskStatus::Activating => "ACTIVATING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Deactivating => "DEACTIVATING",
            TaskStatus::Stopping => "STOPPING",
            TaskStatus::Deprovisioning => "DEPROVISIONING",
            TaskStatus::Stopped => "STOPPED",
        }
    }

    /// The status `word` names, if it is one.
    pub(crate) fn parse(word: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|status| status.as_str() == word)
    }

    /// The statuses an agent reports (SubmitTaskStateChange's `status`).
    pub(crate) fn reported(word: &str) -> Option<TaskStatus> {
        TaskStatus::parse(word).filter(|s| matches!(s, TaskStatus::Pending | TaskStatus::Running | TaskStatus::Stopped))
    }

    /// Its place in the lifecycle: the stages of stopping share one.
    fn rank(self) -> u8 {
        match self {
            TaskStatus::Provisioning => 0,
            TaskStatus::Pending => 1,
            TaskStatus::Activating => 2,
            TaskStatus::Running => 3,
            TaskStatus::Deactivating | TaskStatus::Stopping | TaskStatus::Deprovisioning => 4,
            TaskStatus::Stopped => 5,
        }
    }

    /// Whether a task in this status may be reported as `next`: never back, and a stopped
    /// task never stops again (the agent retries a stop report until it is acknowledged,
    /// which must not move `stoppedAt` or its reason).
    pub(crate) fn may_become(self, next: TaskStatus) -> bool {
        next.rank() >= self.rank() && !(self == TaskStatus::Stopped && next == TaskStatus::Stopped)
    }

    /// Whether the task still holds what it reserved on its instance.
    pub(crate) fn is_live(self) -> bool {
        self != TaskStatus::Stopped
    }
}

/// A task's `desiredStatus`. Homeport stores `RUNNING` or `STOPPED`; `PENDING` is a filter of
/// ListTasks (meant to run, not running yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DesiredStatus {
    Running,
    Pending,
    Stopped,
}

impl DesiredStatus {
    pub(crate) const ALL: [DesiredStatus; 3] = [DesiredStatus::Running, DesiredStatus::Pending, DesiredStatus::Stopped];

    /// The word ECS uses (stored and answered as is).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DesiredStatus::Running => "RUNNING",
            DesiredStatus::Pending => "PENDING",
            DesiredStatus::Stopped => "STOPPED",
        }
    }

    /// The desired status `word` names, if it is one.
    pub(crate) fn parse(word: &str) -> Option<DesiredStatus> {
        DesiredStatus::ALL.into_iter().find(|status| status.as_str() == word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_words() {
        for status in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(status.as_str()), Some(status));
        }
        for status in DesiredStatus::ALL {
            assert_eq!(DesiredStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(TaskStatus::parse("DEPROVISIONING"), Some(TaskStatus::Deprovisioning));
        assert_eq!(TaskStatus::parse("running"), None, "words are case-sensitive, as ECS's");
        assert_eq!(DesiredStatus::parse("ACTIVATING"), None);
        // An agent reports three of them only.
        let reported: Vec<_> =
            TaskStatus::ALL.into_iter().filter(|s| TaskStatus::reported(s.as_str()).is_some()).collect();
        assert_eq!(reported, [TaskStatus::Pending, TaskStatus::Running, TaskStatus::Stopped]);
    }

    #[test]
    fn a_status_never_moves_back_and_a_stopped_task_never_stops_again() {
        use TaskStatus::*;
        let allowed = [
            (Provisioning, Pending),
            (Pending, Pending),
            (Pending, Running),
            (Pending, Stopped),
            (Running, Running),
            (Running, Stopping),
            (Running, Stopped),
            (Stopping, Deprovisioning),
            (Deactivating, Stopped),
        ];
        for (from, to) in allowed {
            assert!(from.may_become(to), "{from:?} -> {to:?}");
        }
        let refused =
            [(Running, Pending), (Stopped, Running), (Stopped, Pending), (Stopped, Stopped), (Stopping, Running)];
        for (from, to) in refused {
            assert!(!from.may_become(to), "{from:?} -> {to:?}");
        }
        assert!(Running.is_live() && Stopping.is_live() && !Stopped.is_live());
    }
}
