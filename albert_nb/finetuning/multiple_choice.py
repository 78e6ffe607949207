"""Multiple-choice examples (RACE, or any k-way choice) -> features -> TFRecord, as race_utils.

For each option: `[CLS] context [SEP] ending [SEP]`, where `ending` is the question joined with
the option (`albert_nb.tasks.race.qa_text`) and keeps only its *last* `max_qa_length` pieces, and
the context is cut at the end to fit `max_seq_length`. Segment 0 up to the first [SEP], 1 after.
A record holds the options' sequences flattened (`input_ids`, `input_mask`, `segment_ids`, each
num_choices x max_seq_length) plus `label_ids` and `is_real_example`, the original's layout.

Tokenizer-agnostic (SentencePiece or WordPiece) and not tied to 4 options: a ChID-style idiom cloze
builds `MultipleChoiceExample(context, endings=[...], label)` and uses `convert_examples` /
`cached_records` / `read_dataset` unchanged. The cache is reused only when its fingerprint matches
(`albert_nb.finetuning.squad_features.check_cache`).
"""
from __future__ import annotations

from albert_nb.finetuning.squad_features import check_cache, settings_digest, write_sidecar
from albert_nb.io_utils import atomic_path
from albert_nb.tokenizers.pairs import pack_pair

# TensorFlow is imported inside the record functions (deliberately lazy): `tasks.race` builds
# examples with this module without loading TensorFlow.

FEATURE_FORMAT = 1


def convert_example(example, tokenizer, max_seq_length: int, max_qa_length: int) -> dict:
    """One example -> {"input_ids", "input_mask", "segment_ids"}: [choices][max_seq_length], "label"."""
    context = tokenizer.tokenize(tokenizer.preprocess(example.context))
    cls, sep = tokenizer.special_tokens["cls"], tokenizer.special_tokens["sep"]
    out = {"input_ids": [], "input_mask": [], "segment_ids": [], "label": int(example.label)}
    for ending in example.endings:
        ending_tokens = tokenizer.tokenize(tokenizer.preprocess(ending))[-max_qa_length:]
        room = max(max_seq_length - 3 - len(ending_tokens), 0)
        tokens, segments = pack_pair(context[:room], ending_tokens, cls, sep, max_seq_length)
        ids = tokenizer.convert_tokens_to_ids(tokens)
        pad = max_seq_length - len(ids)
        out["input_ids"].append(ids + [tokenizer.pad_id] * pad)
        out["input_mask"].append([1] * len(ids) + [0] * pad)
        out["segment_ids"].append(segments + [0] * pad)
    return out


def convert_examples(examples, tokenizer, max_seq_length: int, max_qa_length: int) -> list[dict]:
    return [convert_example(ex, tokenizer, max_seq_length, max_qa_length) for ex in examples]


def fingerprint(examples, tokenizer, settings: dict) -> str:
    digest = settings_digest(tokenizer, settings, FEATURE_FORMAT)
    for ex in examples:
        digest.update("\x1f".join([ex.example_id, ex.context, *ex.endings, str(ex.label)])
                      .encode("utf-8", "surrogatepass") + b"\x1e")
    return digest.hexdigest()


def write_records(features: list[dict], path: str) -> None:
    import tensorflow as tf

    def ints(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    with atomic_path(path) as tmp:
        with tf.io.TFRecordWriter(tmp) as writer:
            for f in features:
                row = {k: ints(sum(f[k], [])) for k in ("input_ids", "input_mask", "segment_ids")}
                row["label_ids"] = ints([f["label"]])
                row["is_real_example"] = ints([1])
                writer.write(tf.train.Example(features=tf.train.Features(feature=row)).SerializeToString())


def cached_records(examples, tokenizer, max_seq_length: int, max_qa_length: int, path: str,
                   flag: str = "train_file") -> int:
    """Build `path` (or reuse it when its fingerprint matches); returns the number of examples."""
    examples = list(examples)
    num_choices = len(examples[0].endings) if examples else 4
    settings = {"max_seq_length": int(max_seq_length), "max_qa_length": int(max_qa_length),
                "num_choices": num_choices}
    digest = fingerprint(examples, tokenizer, settings)
    if not check_cache(path, digest, settings, flag):
        write_records(convert_examples(examples, tokenizer, max_seq_length, max_qa_length), path)
        write_sidecar(path, digest, settings, len(examples))
    return len(examples)


def read_dataset(path: str, max_seq_length: int, num_choices: int = 4):
    """tf.data of {"input_ids", "input_mask", "segment_ids": [choices, T] int32, "label_ids"}."""
    import tensorflow as tf

    shape = [num_choices * max_seq_length]
    spec = {k: tf.io.FixedLenFeature(shape, tf.int64) for k in ("input_ids", "input_mask", "segment_ids")}
    spec["label_ids"] = tf.io.FixedLenFeature([], tf.int64)

    def parse(record):
        row = tf.io.parse_single_example(record, spec)
        out = {k: tf.reshape(tf.cast(row[k], tf.int32), [num_choices, max_seq_length])
               for k in ("input_ids", "input_mask", "segment_ids")}
        out["label_ids"] = tf.cast(row["label_ids"], tf.int32)
        return out

    return tf.data.TFRecordDataset(path).map(parse, num_parallel_calls=tf.data.AUTOTUNE)
