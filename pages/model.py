import streamlit as st

from core.models import hub
from core.training.evaluation import LOOKALIKES, within
from core.views.charts import confusion_figure, per_class_figure, training_figure
from pages._app.common import current_bundle, use_app_navigation

use_app_navigation()
st.title("Model")
model = current_bundle()
if model is None:
    st.stop()
spec = model.spec
validation = model.metrics.get("validation", {})
training = model.metrics.get("training", {})

origin = "from the Hugging Face Hub" if hub.is_hub_ref(model.source) else "bundled with the app"
st.markdown(f"**{spec.name}**: `{spec.architecture}`, loaded from `{model.source}` ({origin}).")
cols = st.columns(4)
cols[0].metric("Validation clip accuracy", f"{validation.get('accuracy', float('nan')):.1%}")
cols[1].metric("Parameters", f"{model.model.count_params():,}")
cols[2].metric("Window", f"{spec.sequence_length} frames, {spec.window_s:.1f} s")
cols[3].metric("Input", f"{spec.image_size[1]}x{spec.image_size[0]} at {spec.sampling_fps:g} fps")
st.caption("Classes: " + ", ".join(spec.classes))

if validation:
    st.subheader(f"Validation: {validation['n_clips']} clips of groups {validation['groups']}")
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
    open_set = validation.get("open_set")
    if spec.open_set is not None:
        rule = spec.open_set
        accepted = f"; measured {open_set['known_accepted']:.1%}" if open_set else ""
        st.markdown(
            f"**Open set**: known-ness score `{rule.score}`; a video below {rule.threshold:.4f} (a window "
            f"below {rule.window_threshold:.4f}) is *unknown*. Chosen on validation groups "
            f"{list(rule.groups)} to accept {rule.accepted:.0%} of their clips{accepted}."
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
