revision = '0001'
down_revision = None
def downgrade():
    raise NotImplementedError("irreversible")
