"""Small real pretraining data shared by the pretraining tests (built once per test session).

Real English text (CPython's language-reference topics via albert_nb.corpora.loaders), a SentencePiece
model trained on it, and TFRecords from create_pretraining_data: train and held-out documents.
"""
import functools
import os
import tempfile
from configs import tiny_config

SEQ, PREDS = 64, 10


@functools.lru_cache(maxsize=None)
def pretraining_files() -> dict:
    from albert_nb.corpora import loaders as corpora
    from albert_nb.tokenizers import vocab_training
    from albert_nb.pretraining import create as cpd
    from albert_nb.tokenizers.tokenization import FullTokenizer

    directory = tempfile.mkdtemp(prefix="albert_nb_pretraining_test_")
    train_docs, held_docs = corpora.split_documents(corpora.python_docs(), 0.2, seed=0)
    train_txt = corpora.write_pretraining_text(train_docs, os.path.join(directory, "train.txt"))
    held_txt = corpora.write_pretraining_text(held_docs, os.path.join(directory, "held.txt"))
    model = vocab_training.train_sentencepiece([train_txt], os.path.join(directory, "30k-clean"),
                                               vocab_size=800)
    tok = FullTokenizer(spm_model_file=model)
    options = dict(max_seq_length=SEQ, max_predictions_per_seq=PREDS, show_progress=False)
    cpd.run(train_txt, os.path.join(directory, "train.tfrecord"), tok, dupe_factor=2, **options)
    cpd.run(held_txt, os.path.join(directory, "held.tfrecord"), tok, dupe_factor=1, **options)
    config = tiny_config(tok.vocab_size, max_position_embeddings=SEQ, hidden_dropout_prob=0.1,
                         attention_probs_dropout_prob=0.1)
    config.to_json_file(os.path.join(directory, "albert_config.json"))
    return {"dir": directory, "train": os.path.join(directory, "train.tfrecord"),
            "held": os.path.join(directory, "held.tfrecord"), "spm": model,
            "train_txt": train_txt, "config": os.path.join(directory, "albert_config.json")}
