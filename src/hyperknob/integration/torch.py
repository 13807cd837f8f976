"""Tune a plain PyTorch training loop: report, prune, and keep the learning curves.

A plain loop needs no callback: the objective reports the value to minimize (or maximize)
after every epoch and asks the pruner, the pattern Optuna users know::

    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        val_loss = evaluate(model)
        trial.report(val_loss, epoch + 1)   # step: epochs trained
        if trial.should_prune():
            raise hyperknob.TrialPruned()   # the trial ends PRUNED, with the pruner's reason

That is enough for pruning. To have :mod:`hyperknob.analysis` diagnose the run (diverged,
unstable, too slow, over- or underfitting, with advice that names your own knobs) and the
HTML report (:func:`hyperknob.viz.build_report`) draw its curves, let a
:class:`LearningCurveRecorder` do the reporting: it also keeps the training loss, the
validation loss and a validation metric per epoch as the trial's training record, stops a
diverged run, and learns which parameter is the learning rate (``lr`` and
``learning_rate`` are found by name; ``knobs={"learning_rate": "step_size"}`` names another).

Example:
    A complete objective -- a small CNN on noisy 8x8 stripe images, three classes -- and
    what the diagnosis says of it::

        import math

        import torch
        from torch import nn

        import hyperknob
        from hyperknob.analysis import diagnose_study
        from hyperknob.integration.torch import LearningCurveRecorder
        from hyperknob.viz import build_report

        def stripes(n, seed):
            generator = torch.Generator().manual_seed(seed)
            labels = torch.randint(0, 3, (n,), generator=generator)
            wave = torch.sin(torch.arange(8.0) * math.pi / 2).view(8, 1).expand(8, 8)
            diagonal = torch.sin((torch.arange(8.0).view(8, 1) + torch.arange(8.0)) * math.pi / 2)
            images = torch.stack([wave, wave.T, diagonal])[labels]
            images = images + 0.8 * torch.randn(n, 8, 8, generator=generator)
            return images.unsqueeze(1), labels

        (x, y), (x_val, y_val) = stripes(384, seed=0), stripes(128, seed=1)

        def objective(trial: hyperknob.Trial) -> float:
            lr = trial.suggest_float("lr", 1e-3, 10.0, log=True)
            torch.manual_seed(trial.number)  # the same weights and batches on every run
            model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                                  nn.Flatten(), nn.Linear(8 * 8 * 8, 3))
            optimizer = torch.optim.SGD(model.parameters(), lr=lr)
            loss_fn = nn.CrossEntropyLoss()
            with torch.no_grad():  # the untrained model's loss: where training starts
                initial = loss_fn(model(x_val), y_val).item()
            recorder = LearningCurveRecorder(trial, monitor="val_loss", model=model,
                                             initial_loss=initial, config={"optimizer": "sgd"})
            for epoch in range(10):
                losses = []
                for batch in torch.randperm(len(y)).split(32):
                    loss = loss_fn(model(x[batch]), y[batch])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
                with torch.no_grad():
                    logits = model(x_val)
                    val_loss = loss_fn(logits, y_val).item()
                    accuracy = (logits.argmax(1) == y_val).float().mean().item()
                recorder.record_epoch(train_loss=sum(losses) / len(losses),
                                      val_loss=val_loss, val_metric=accuracy)
                recorder.check_pruned()  # raises TrialPruned: pruned, or diverged
            recorder.finish()
            return val_loss

        study = hyperknob.create_study(seed=0)
        study.optimize(objective, n_trials=20)
        for number, diagnosis in diagnose_study(study.trials).items():
            print(number, diagnosis.pathology.value, diagnosis.advice)
        # e.g. "6 diverged lr 4.9 diverged; every trial with optimizer sgd and lr <= 1.32126
        #       trained smoothly (15 of 15) ...: cap lr at 1.32126 or below."
        with open("report.html", "w") as file:
            file.write(build_report(study))
"""

from hyperknob.integration._recorder import COMMON_KNOB_NAMES, LearningCurveRecorder

__all__ = ["COMMON_KNOB_NAMES", "LearningCurveRecorder"]
