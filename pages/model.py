import streamlit as st

from core.models.card import expected_rows, open_set_protocol, shipped_point
from core.training.evaluation import LOOKALIKES, within
from core.training.takes import both_sides
from core.views.charts import confusion_figure, estimate_figure, per_class_figure, training_figure
from pages._app.common import current_bundle, use_app_navigation

use_app_navigation()
st.title("Model")
model = current_bundle()
if model is None:
    st.stop()
spec = model.spec
validation = model.metrics.get("validation", {})
training = model.metrics.get("training", {})
estimate = model.metrics.get("cross_validation")

st.markdown(f"**{spec.name}**: `{spec.architecture}`, {model.origin}.")
st.caption(
    f"{len(spec.classes)} classes: {', '.join(spec.classes)}. Each window: {spec.window_frames} frames "
    f"({spec.window_s:.2f} s) of {spec.image_size[1]}x{spec.image_size[0]} at {spec.sampling_fps:g} fps; "
    f"{model.model.count_params():,} parameters."
)

if estimate:
    accuracy = estimate["accuracy"]
    st.subheader("Expected on new footage")
    st.markdown(
        f"Right action for **{accuracy['mean']:.1%}** of clips (worst fold {accuracy['min']:.1%}, best "
        f"{accuracy['max']:.1%}): a {estimate['folds']}-fold cross-validation by group. Each fold's groups "
        "(other people, other scenes) were judged by a model that never saw them and that chose its epoch "
        "and thresholds on groups of its own. The configuration was chosen among several by the same "
        "cross-validation, which may flatter it by about a point."
    )
    shipped = shipped_point(model.metrics, spec.open_set.accepted) if spec.open_set else None
    rows = [
        {
            "what": what,
            "expected": f"{figures['mean']:.1%}",
            "worst fold": f"{figures['min']:.1%}" if "min" in figures else "pooled over folds",
            "best fold": f"{figures['max']:.1%}" if "max" in figures else "",
        }
        for what, figures in expected_rows(estimate, shipped)
        if figures
    ]
    st.dataframe(rows, hide_index=True)
    if shipped is not None:
        st.caption(open_set_protocol(estimate, shipped))
    st.plotly_chart(estimate_figure(estimate["per_class"]), width="stretch")
    st.caption(f"Reproduce: `{estimate.get('command', 'python -m core crossval')}`")
elif validation:
    st.subheader(f"Validation: {validation['accuracy']:.1%} on one split")
    st.caption(
        "One split of groups, which also chose the epoch and the thresholds: expect less on new footage."
    )

if validation:
    out_of_fold = "protocol" in validation
    st.subheader(
        f"Out of fold: {validation['n_clips']} clips, every one judged by a model that never saw its group"
        if out_of_fold
        else f"Validation: {validation['n_clips']} clips of groups {validation['groups']}"
        if validation.get("groups")
        else f"Validation: {validation['n_clips']} held-back clips"
    )
    left, right = st.columns(2)
    left.plotly_chart(confusion_figure(validation["classes"], validation["confusion"]), width="stretch")
    right.plotly_chart(per_class_figure(validation["per_class"]), width="stretch")
    lookalikes = {name: within(validation, members) for name, members in LOOKALIKES.items()}
    for name, figures in ((n, f) for n, f in lookalikes.items() if f is not None):
        st.markdown(
            f"**Within the {name}** ({', '.join(figures['classes'])}; same scene, different motion or "
            f"instrument): {figures['accuracy']:.1%} of their {figures['clips']} clips get the right one."
        )
        st.dataframe(figures["table"], hide_index=True)
    takes = model.metrics.get("takes_calibration")
    if spec.open_set is not None and takes:
        st.markdown(
            f"**Open set**: known-ness score `{spec.open_set.score}`; a video below "
            f"{spec.open_set.threshold:.4f} (a window below {spec.open_set.window_threshold:.4f}) is "
            "*unknown*. Put where as many of its takes, each scored with its own scene left out, are "
            "refused as clips of other actions accepted:\n"
            + "".join(f"- {line}\n" for line in both_sides(takes))
        )
    elif spec.open_set is not None:
        rule = spec.open_set
        fitted = (
            "out-of-fold scores of every group" if out_of_fold else f"validation groups {list(rule.groups)}"
        )
        st.markdown(
            f"**Open set**: known-ness score `{rule.score}`; a video below {rule.threshold:.4f} (a window "
            f"below {rule.window_threshold:.4f}) is *unknown*. Fitted on {fitted} to accept "
            f"{rule.accepted:.0%} of their clips."
        )
    else:
        st.markdown("**Open set**: none: this model always names one of its actions.")
if model.metrics.get("history"):
    st.subheader(f"Training ({training.get('epochs_run')} epochs, best {training.get('best_epoch')})")
    st.plotly_chart(training_figure(model.metrics["history"]), width="stretch")
with st.expander("Architecture"):
    lines: list[str] = []
    model.model.summary(print_fn=lambda line, **_: lines.append(line))
    st.code("\n".join(lines), language=None)
with st.expander("Model card (README.md)"):
    st.markdown(model.card)
