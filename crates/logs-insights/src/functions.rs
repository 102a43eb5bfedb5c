//! The functions a query may call: scalar functions on one record's values, and the
//! aggregates of `stats`, each folding a group's values in constant memory (but
//! `count_distinct`, which keeps at most [`MAX_DISTINCT`] values).

use std::collections::HashSet;

use crate::value::{Key, Value};

/// The most distinct values `count_distinct` tracks per group; past it, it counts no more.
pub const MAX_DISTINCT: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Strlen,
    ToUpper,
    ToLower,
    Concat,
    Substr,
    Replace,
    Trim,
    Ltrim,
    Rtrim,
    StrContains,
    Abs,
    Ceil,
    Floor,
    Sqrt,
    Greatest,
    Least,
    IsBlank,
    IsEmpty,
    IsPresent,
    Coalesce,
    DateFloor,
    DateCeil,
    FromMillis,
    ToMillis,
    Bin,
}

impl Function {
    pub fn named(name: &str) -> Option<Function> {
        use Function::*;
        Some(match name {
            "strlen" => Strlen,
            "toupper" => ToUpper,
            "tolower" => ToLower,
            "concat" => Concat,
            "substr" => Substr,
            "replace" => Replace,
            "trim" => Trim,
            "ltrim" => Ltrim,
            "rtrim" => Rtrim,
            "strcontains" => StrContains,
            "abs" => Abs,
            "ceil" => Ceil,
            "floor" => Floor,
            "sqrt" => Sqrt,
            "greatest" => Greatest,
            "least" => Least,
            "isblank" => IsBlank,
            "isempty" => IsEmpty,
            "ispresent" => IsPresent,
            "coalesce" => Coalesce,
            "datefloor" => DateFloor,
            "dateceil" => DateCeil,
            "fromMillis" => FromMillis,
            "toMillis" => ToMillis,
            "bin" => Bin,
            _ => return None,
        })
    }

    /// How many arguments a call may have, as written.
    pub fn arity(self) -> std::ops::RangeInclusive<usize> {
        use Function::*;
        match self {
            Strlen | ToUpper | ToLower | Trim | Ltrim | Rtrim | Abs | Ceil | Floor | Sqrt | IsBlank | IsEmpty
            | IsPresent | FromMillis | ToMillis | Bin => 1..=1,
            StrContains | DateFloor | DateCeil => 2..=2,
            Substr => 2..=3,
            Replace => 3..=3,
            Concat | Greatest | Least | Coalesce => 1..=usize::MAX,
        }
    }

    /// The call's value (`bin`'s arguments are `@timestamp` and the period).
    pub fn apply(self, args: &[Option<Value>]) -> Option<Value> {
        use Function::*;
        let arg = |i: usize| args.get(i).and_then(Option::as_ref);
        let text = |i: usize| arg(i).map(Value::render);
        let number = |i: usize| arg(i).and_then(Value::number);
        let truth = |b: bool| Some(Value::Bool(b));
        match self {
            Strlen => text(0).map(|s| Value::Num(s.chars().count() as f64)),
            ToUpper => text(0).map(|s| Value::Str(s.to_uppercase())),
            ToLower => text(0).map(|s| Value::Str(s.to_lowercase())),
            Trim => text(0).map(|s| Value::Str(s.trim().to_owned())),
            Ltrim => text(0).map(|s| Value::Str(s.trim_start().to_owned())),
            Rtrim => text(0).map(|s| Value::Str(s.trim_end().to_owned())),
            Concat => Some(Value::Str(args.iter().flatten().map(Value::render).collect())),
            Substr => {
                let s = text(0)?;
                let start = number(1)?.max(0.0) as usize;
                let chars = s.chars().skip(start);
                Some(Value::Str(match number(2) {
                    Some(length) => chars.take(length.max(0.0) as usize).collect(),
                    None => chars.collect(),
                }))
            }
            Replace => {
                let (s, find, with) = (text(0)?, text(1)?, text(2)?);
                Some(Value::Str(if find.is_empty() { s } else { s.replace(&find, &with) }))
            }
            StrContains => truth(text(0)?.contains(&text(1)?)),
            Abs => number(0).map(|n| Value::Num(n.abs())),
            Ceil => number(0).map(|n| Value::Num(n.ceil())),
            Floor => number(0).map(|n| Value::Num(n.floor())),
            Sqrt => number(0).filter(|n| *n >= 0.0).map(|n| Value::Num(n.sqrt())),
            Greatest => args.iter().flatten().max_by(|a, b| a.compare(b)).cloned(),
            Least => args.iter().flatten().min_by(|a, b| a.compare(b)).cloned(),
            IsBlank => truth(text(0).is_none_or(|s| s.trim().is_empty())),
            IsEmpty => truth(text(0).is_none_or(|s| s.is_empty())),
            IsPresent => truth(arg(0).is_some()),
            Coalesce => args.iter().flatten().next().cloned(),
            DateFloor | Bin => {
                let (t, period) = (arg(0)?.time()?, number(1)? as i64);
                (period > 0).then(|| Value::Time(t.div_euclid(period) * period))
            }
            DateCeil => {
                let (t, period) = (arg(0)?.time()?, number(1)? as i64);
                (period > 0).then(|| Value::Time((t + period - 1).div_euclid(period) * period))
            }
            FromMillis => number(0).map(|n| Value::Time(n as i64)),
            ToMillis => arg(0)?.time().map(|t| Value::Num(t as f64)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    Stddev,
    Earliest,
    Latest,
}

impl Aggregate {
    pub fn named(name: &str) -> Option<Aggregate> {
        use Aggregate::*;
        Some(match name {
            "count" => Count,
            "count_distinct" => CountDistinct,
            "sum" => Sum,
            "avg" => Avg,
            "min" => Min,
            "max" => Max,
            "stddev" => Stddev,
            "earliest" => Earliest,
            "latest" => Latest,
            _ => return None,
        })
    }

    pub fn start(self) -> Fold {
        match self {
            Aggregate::Count => Fold::Count(0),
            Aggregate::CountDistinct => Fold::Distinct(HashSet::new()),
            Aggregate::Sum => Fold::Sum(None),
            Aggregate::Avg | Aggregate::Stddev => Fold::Moments { n: 0, mean: 0.0, m2: 0.0 },
            Aggregate::Min | Aggregate::Max => Fold::Extreme(None),
            Aggregate::Earliest | Aggregate::Latest => Fold::AtTime(None),
        }
    }
}

/// An aggregate's running state for one group.
#[derive(Debug, Clone)]
pub enum Fold {
    Count(u64),
    Distinct(HashSet<Key>),
    Sum(Option<f64>),
    Moments {
        n: u64,
        mean: f64,
        m2: f64,
    },
    Extreme(Option<Value>),
    /// The value and the time of the record it came from.
    AtTime(Option<(i64, Value)>),
}

impl Fold {
    /// Folds in one record's value (`None` when absent; `count(*)` is handed `Some`).
    pub fn add(&mut self, aggregate: Aggregate, value: Option<Value>, time: i64) {
        let Some(value) = value else { return };
        match self {
            Fold::Count(n) => *n += 1,
            Fold::Distinct(seen) => {
                if seen.len() < MAX_DISTINCT {
                    seen.insert(Key::of(Some(&value)));
                }
            }
            Fold::Sum(sum) => {
                if let Some(n) = value.number() {
                    *sum = Some(sum.unwrap_or(0.0) + n);
                }
            }
            Fold::Moments { n, mean, m2 } => {
                if let Some(x) = value.number() {
                    // Welford's running mean and variance.
                    *n += 1;
                    let delta = x - *mean;
                    *mean += delta / *n as f64;
                    *m2 += delta * (x - *mean);
                }
            }
            Fold::Extreme(best) => {
                let better = best.as_ref().is_none_or(|known| {
                    let order = value.compare(known);
                    if aggregate == Aggregate::Min { order.is_lt() } else { order.is_gt() }
                });
                if better {
                    *best = Some(value);
                }
            }
            Fold::AtTime(best) => {
                let better = best
                    .as_ref()
                    .is_none_or(|(at, _)| if aggregate == Aggregate::Earliest { time < *at } else { time >= *at });
                if better {
                    *best = Some((time, value));
                }
            }
        }
    }

    pub fn value(&self, aggregate: Aggregate) -> Option<Value> {
        match self {
            Fold::Count(n) => Some(Value::Num(*n as f64)),
            Fold::Distinct(seen) => Some(Value::Num(seen.len() as f64)),
            Fold::Sum(sum) => sum.map(Value::Num),
            Fold::Moments { n, mean, m2 } => match (aggregate, *n) {
                (_, 0) => None,
                (Aggregate::Avg, _) => Some(Value::Num(*mean)),
                (_, 1) => Some(Value::Num(0.0)),
                (_, n) => Some(Value::Num((m2 / (n - 1) as f64).sqrt())),
            },
            Fold::Extreme(best) => best.clone(),
            Fold::AtTime(best) => best.as_ref().map(|(_, value)| value.clone()),
        }
    }
}
