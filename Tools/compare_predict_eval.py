#!/usr/bin/env python3
"""Compares `kiln predict --json --top 1` on the files of an image folder's split with `kiln eval --json` on that
folder: predict's answers are counted into a confusion matrix by each file's class folder (classes sorted by
name, as Kiln and torchvision number them) and set against eval's matrix, cell by cell.

  python3 Tools/compare_predict_eval.py PREDICT.json EVAL.json SPLIT_FOLDER
"""
import json
import os
import sys

if len(sys.argv) != 4:
    sys.exit(__doc__)
predictions, evaluation = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
names = sorted(entry for entry in os.listdir(sys.argv[3]) if not entry.startswith("."))
confusion = [[0] * len(names) for _ in names]
for prediction in predictions:
    confusion[names.index(os.path.basename(os.path.dirname(prediction["file"])))][prediction["top"][0]["label"]] += 1
cells = sum(a == b for row, other in zip(confusion, evaluation["confusion"]) for a, b in zip(row, other))
correct = sum(confusion[i][i] for i in range(len(names)))
print(f"{len(predictions)} predictions; confusion cells equal: {cells} of {len(names) ** 2}; "
      f"predict correct {correct} ({correct / len(predictions):.2%}), eval accuracy {evaluation['accuracy']:.2%}; "
      f"matrices {'identical' if confusion == evaluation['confusion'] else 'DIFFER'}")
sys.exit(0 if confusion == evaluation["confusion"] else 1)
